import { randomBytes } from 'node:crypto';
import {
  CreateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { EmbeddedKms } from '../../../embedded-aws/kms/index.ts';
import { createKey, DAY_MS, importKeyMaterial, startKms, type KmsHarness } from './kms-harness.ts';

const harnesses: KmsHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});

async function start(options: Parameters<typeof startKms>[0] = {}): Promise<KmsHarness> {
  const harness = await startKms(options);
  harnesses.push(harness);
  return harness;
}

const certificate = Buffer.from('{"subject":"fp-6f1c","method":"cryptographic erase"}');

/** What a user left in the first KMS: an erasure key with data, a signing key, a key on its way out. */
async function populatedKms() {
  const before = await start();
  const kms = before.client();
  const dataKey = await createKey(kms, { Description: 'erasure key of subject 42' });
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/erasure/subject/42', TargetKeyId: dataKey.keyId }));
  const { CiphertextBlob } = await kms.send(
    new EncryptCommand({ KeyId: dataKey.keyId, Plaintext: Buffer.from('subject record'), EncryptionContext: { subject: '42' } }),
  );
  const signingKey = await createKey(kms, { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  const { Signature } = await kms.send(new SignCommand({ KeyId: signingKey.keyId, Message: certificate, SigningAlgorithm: 'ECDSA_SHA_256' }));
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: signingKey.keyId }));
  const leavingKey = await createKey(kms, { Description: 'erasure key of subject 7' });
  await kms.send(new TagResourceCommand({ KeyId: leavingKey.keyId, Tags: [{ TagKey: 'erasure:subject', TagValue: '7' }] }));
  const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: leavingKey.keyId, PendingWindowInDays: 7 }));
  const importedKey = await createKey(kms, { Origin: 'EXTERNAL' });
  await importKeyMaterial(kms, importedKey.keyId, randomBytes(32));
  return {
    before,
    dataKey,
    ciphertext: CiphertextBlob ?? new Uint8Array(),
    signingKey,
    signature: Signature ?? new Uint8Array(),
    publicKey: PublicKey ?? new Uint8Array(),
    leavingKey,
    deletionDate: scheduled.DeletionDate,
    importedKey,
  };
}

/** The snapshot as it would be written to disk and read back: through JSON text. */
function throughJson(snapshot: object): object {
  return JSON.parse(JSON.stringify(snapshot)) as object;
}

describe('snapshot and restore', () => {
  it('keeps a key pending deletion pending, with the same deletion date and tags', async () => {
    const saved = await populatedKms();
    const after = await start({ restore: throughJson(saved.before.kms.snapshot()) });
    const kms = after.client();

    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: saved.leavingKey.keyId }));
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: saved.leavingKey.keyId }));
    expect(KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', DeletionDate: saved.deletionDate, Description: 'erasure key of subject 7' });
    expect(Tags).toEqual([{ TagKey: 'erasure:subject', TagValue: '7' }]);
  });

  it('decrypts what the first KMS encrypted, by key and through its alias', async () => {
    const saved = await populatedKms();
    const after = await start({ restore: throughJson(saved.before.kms.snapshot()) });
    const kms = after.client();

    const { Plaintext, KeyId } = await kms.send(new DecryptCommand({ CiphertextBlob: saved.ciphertext, EncryptionContext: { subject: '42' } }));
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/erasure/subject/42' }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('subject record');
    expect(KeyId).toBe(saved.dataKey.arn);
    expect(KeyMetadata?.Arn).toBe(saved.dataKey.arn);
  });

  it('verifies what the first KMS signed, with the same public key', async () => {
    const saved = await populatedKms();
    const after = await start({ restore: throughJson(saved.before.kms.snapshot()) });
    const kms = after.client();

    const verified = await kms.send(
      new VerifyCommand({ KeyId: saved.signingKey.keyId, Message: certificate, Signature: saved.signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: saved.signingKey.keyId }));
    expect(verified.SignatureValid).toBe(true);
    expect(Buffer.from(PublicKey ?? [])).toEqual(Buffer.from(saved.publicKey));
  });

  it('keeps imported key material and its identity', async () => {
    const saved = await populatedKms();
    const { KeyMetadata: original } = await saved.before.client().send(new DescribeKeyCommand({ KeyId: saved.importedKey.keyId }));
    const after = await start({ restore: throughJson(saved.before.kms.snapshot()) });

    const { KeyMetadata } = await after.client().send(new DescribeKeyCommand({ KeyId: saved.importedKey.keyId }));
    expect(KeyMetadata).toMatchObject({ KeyState: 'Enabled', Origin: 'EXTERNAL', CurrentKeyMaterialId: original?.CurrentKeyMaterialId });
  });

  it('deletes a restored key when its waiting period ends, as if it had never stopped', async () => {
    const saved = await populatedKms();
    const after = await start({ restore: throughJson(saved.before.kms.snapshot()) });
    after.clock.advance(7 * DAY_MS + 1000);

    await expect(after.client().send(new DescribeKeyCommand({ KeyId: saved.leavingKey.keyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(after.events.filter((event) => event.detailType === 'KMS CMK Deletion')).toEqual([
      expect.objectContaining({ detail: { 'key-id': saved.leavingKey.keyId } }),
    ]);
  });

  it('refuses a document that is not a snapshot of the embedded KMS', () => {
    expect(() => new EmbeddedKms({ clock: new VirtualClock({}), restore: { keys: [] } })).toThrow(/not an embedded KMS snapshot/);
  });
});
