import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import {
  KMS_REQUEST_QUOTAS,
  RequestQuotas,
  SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS,
} from '../../../embedded-aws/kms/request-quotas.ts';
import { HOME_REGION, REPLICA_REGION, startKms, type KmsHarness } from './kms-harness.ts';

let harness: KmsHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const scope = { accountId: '111122223333', region: HOME_REGION };

/** How many calls of `operation` a fresh bucket lets through within one virtual instant. */
function callsAllowedInOneInstant(quotas: RequestQuotas, operation: string, attempts: number): number {
  for (let call = 0; call < attempts; call++) {
    try {
      quotas.take(scope, operation);
    } catch (error) {
      expect(error).toMatchObject({ code: 'ThrottlingException', message: 'Rate exceeded' });
      return call;
    }
  }
  return attempts;
}

describe('request quotas from docs/aws-facts.md', () => {
  it.each([
    ['CreateKey', 5],
    ['DisableKey', 5],
    ['EnableKey', 5],
    ['CancelKeyDeletion', 5],
    ['TagResource', 10],
    ['ScheduleKeyDeletion', 15],
    ['DeleteImportedKeyMaterial', 15],
    ['ListKeys', 500],
    ['ListAliases', 500],
    ['DescribeKey', 2000],
    ['ListResourceTags', 2000],
    ['Encrypt', 10_000],
  ])('lets %s through %i times per virtual second', (operation, perSecond) => {
    const quotas = new RequestQuotas(new VirtualClock({ timeScale: 1e-9 }), true);
    expect(callsAllowedInOneInstant(quotas, operation, perSecond + 10)).toBe(perSecond);
  });

  it('does not limit operations the facts give no quota for', () => {
    const quotas = new RequestQuotas(new VirtualClock({ timeScale: 1e-9 }), true);
    expect(callsAllowedInOneInstant(quotas, 'CreateAlias', 1000)).toBe(1000);
  });

  it('is off unless asked for', () => {
    const quotas = new RequestQuotas(new VirtualClock({ timeScale: 1e-9 }), undefined);
    expect(callsAllowedInOneInstant(quotas, 'CreateKey', 100)).toBe(100);
  });

  it('applies overrides on top of the facts', () => {
    const quotas = new RequestQuotas(new VirtualClock({ timeScale: 1e-9 }), { CreateKey: 2 });
    expect(callsAllowedInOneInstant(quotas, 'CreateKey', 10)).toBe(2);
    expect(callsAllowedInOneInstant(quotas, 'DisableKey', 10)).toBe(KMS_REQUEST_QUOTAS.DisableKey);
  });
});

describe('throttling through the SDK', () => {
  async function createKey(kms: KMSClient): Promise<string> {
    return (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
  }

  it('throttles the 6th DisableKey in one virtual second and accepts it a second later', async () => {
    harness = await startKms({ quotas: true });
    const kms = harness.client(HOME_REGION, { maxAttempts: 1 });
    const keyId = await createKey(kms);
    for (let call = 0; call < 5; call++) await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await expect(kms.send(new DisableKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    harness.clock.advance(1000);
    await expect(kms.send(new DisableKeyCommand({ KeyId: keyId }))).resolves.toBeDefined();
  });

  it('counts Encrypt, Decrypt and GenerateDataKey against one shared quota', async () => {
    harness = await startKms({ quotas: { [SYMMETRIC_CRYPTOGRAPHIC_OPERATIONS]: 3 } });
    const kms = harness.client(HOME_REGION, { maxAttempts: 1 });
    const keyId = await createKey(kms);
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    await kms.send(new DecryptCommand({ CiphertextBlob }));
    await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    await expect(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    await expect(kms.send(new DescribeKeyCommand({ KeyId: keyId }))).resolves.toBeDefined();
  });

  it('keeps a separate quota per Region', async () => {
    harness = await startKms({ quotas: { CreateKey: 1 } });
    const home = harness.client(HOME_REGION, { maxAttempts: 1 });
    const replica = harness.client(REPLICA_REGION, { maxAttempts: 1 });
    await createKey(home);
    await expect(createKey(home)).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(createKey(replica)).resolves.toMatch(/^[0-9a-f-]{36}$/);
  });
});
