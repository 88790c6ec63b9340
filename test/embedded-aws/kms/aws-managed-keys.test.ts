import {
  CancelKeyDeletionCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_ID, HOME_REGION, kmsForThisFile } from './kms-harness.ts';

const harness = kmsForThisFile();

describe('AWS managed keys', () => {
  it('seeds an AWS managed key behind its alias/aws/ alias', async () => {
    const seeded = harness.kms.createAwsManagedKey(HOME_REGION, 'alias/aws/s3');
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }));
    expect(KeyMetadata).toMatchObject({ KeyId: seeded.keyId, Arn: seeded.arn, KeyManager: 'AWS', KeyState: 'Enabled' });
  });

  it('returns the existing key when the same alias is seeded again', () => {
    const first = harness.kms.createAwsManagedKey(HOME_REGION, 'alias/aws/rds');
    const second = harness.kms.createAwsManagedKey(HOME_REGION, 'alias/aws/rds');
    expect(second).toEqual(first);
  });

  it('encrypts with an AWS managed key, as the services using it do', async () => {
    const seeded = harness.kms.createAwsManagedKey(HOME_REGION, 'alias/aws/ebs');
    const { KeyId } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: 'alias/aws/ebs', Plaintext: Buffer.from('volume key') }));
    expect(KeyId).toBe(seeded.arn);
  });

  it.each([
    ['ScheduleKeyDeletion', (keyId: string) => new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })],
    ['DisableKey', (keyId: string) => new DisableKeyCommand({ KeyId: keyId })],
    ['CancelKeyDeletion', (keyId: string) => new CancelKeyDeletionCommand({ KeyId: keyId })],
    ['TagResource', (keyId: string) => new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: 'v' }] })],
  ] as const)('refuses %s on an AWS managed key', async (operation, command) => {
    const key = harness.kms.createAwsManagedKey(HOME_REGION, 'alias/aws/dynamodb');
    // The union of command types is too wide for send's overloads; each is a valid KMS command.
    await expect(harness.client().send(command(key.keyId) as ScheduleKeyDeletionCommand)).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: `User: arn:aws:iam::${ACCOUNT_ID}:root is not authorized to perform: kms:${operation} on resource: ${key.arn} because no resource-based policy allows the kms:${operation} action`,
    });
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('refuses to delete an alias/aws/ alias', async () => {
    harness.kms.createAwsManagedKey(HOME_REGION, 'alias/aws/sqs');
    await expect(harness.client().send(new DeleteAliasCommand({ AliasName: 'alias/aws/sqs' }))).rejects.toMatchObject({
      name: 'NotAuthorizedException',
    });
  });
});
