import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient, NotFoundException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { provision, provisionLines } from '../../../cli/commands/provision.ts';
import { CliError } from '../../../cli/exit-codes.ts';
import type { Target } from '../../../cli/target.ts';
import { ACCOUNT_ID, REGION, keyPolicy } from '../../support/settings.ts';

const kmsMock = mockClient(KMSClient);
afterEach(() => kmsMock.reset());
// The mutation run shares modules between test files: a mock left in place would answer theirs.
afterAll(() => kmsMock.restore());

/** A stage target whose KMS has no key for the subject yet and creates one. */
function stageTarget(eraserRoleArn: string | undefined): Target {
  const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  kmsMock.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'Alias is not found.', $metadata: {} }));
  kmsMock.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', Arn: keyArn, KeyManager: 'CUSTOMER', KeyState: 'Enabled', MultiRegion: false } });
  kmsMock.on(CreateAliasCommand).resolves({});
  return {
    kind: 'aws',
    description: `stage prod in ${REGION}, account ${ACCOUNT_ID}`,
    accountId: ACCOUNT_ID,
    clients: { kms: new KMSClient({ region: REGION }) },
    settings: { protected: true, keyPolicy, allowedEventSources: [] },
    resources: { eraserRoleArn },
  } as unknown as Target;
}

describe('erasure provision', () => {
  it('creates the key without the eraser statement on a stage whose role is not known, and warns', async () => {
    const provisioned = await provision(stageTarget(undefined), 'user-1', {});

    expect(provisioned.warning).toContain('eraser role of stage prod');
    expect(JSON.parse(kmsMock.commandCalls(CreateKeyCommand)[0]!.args[0].input.Policy!).Statement).toHaveLength(1);
    expect(provisionLines(provisioned)[0]).toBe(`created key ${provisioned.keyArn} on stage prod in ${REGION}, account ${ACCOUNT_ID}`);
  });

  it('names the role given with --eraser-role in the key policy', async () => {
    const role = `arn:aws:iam::${ACCOUNT_ID}:role/crypto-erasure-prod-KeyEraserRole-AbC123`;
    const provisioned = await provision(stageTarget(undefined), 'user-1', { eraserRole: role });

    expect(provisioned.warning).toBeNull();
    expect(JSON.parse(kmsMock.commandCalls(CreateKeyCommand)[0]!.args[0].input.Policy!).Statement[1].Principal).toEqual({ AWS: role });
  });

  it('answers an --eraser-role that is not a role of the account as bad input', async () => {
    const refused = provision(stageTarget(undefined), 'user-1', { eraserRole: 'KeyEraserRole' });

    await expect(refused).rejects.toThrow(CliError);
    await expect(refused).rejects.toMatchObject({ kind: 'badInput' });
    expect(kmsMock.commandCalls(CreateKeyCommand)).toHaveLength(0);
  });
});
