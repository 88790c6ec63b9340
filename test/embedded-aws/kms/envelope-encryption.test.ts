import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  CreateAliasCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createKey, kmsForThisFile } from './kms-harness.ts';

const harness = kmsForThisFile();

describe('envelope encryption', () => {
  it('round-trips a record sealed locally under a data key that KMS encrypted', async () => {
    const kms = harness.client();
    const key = await createKey(harness.client());
    const encryptionContext = { subject: 'subject-42', purpose: 'profile' };
    const record = Buffer.from('{"name":"Ada Lovelace"}');

    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext }),
    );
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', dataKey.Plaintext ?? new Uint8Array(), iv);
    const sealed = Buffer.concat([cipher.update(record), cipher.final()]);
    const tag = cipher.getAuthTag();

    const unwrapped = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: encryptionContext }),
    );
    const decipher = createDecipheriv('aes-256-gcm', unwrapped.Plaintext ?? new Uint8Array(), iv);
    decipher.setAuthTag(tag);
    const opened = Buffer.concat([decipher.update(sealed), decipher.final()]);

    expect(dataKey.KeyId).toBe(key.arn);
    expect(dataKey.Plaintext).toHaveLength(32);
    expect(unwrapped.KeyId).toBe(key.arn);
    expect(opened.toString()).toBe(record.toString());
  });

  it('generates data keys of NumberOfBytes or of the KeySpec size', async () => {
    const key = await createKey(harness.client());
    const sized = await harness.client().send(new GenerateDataKeyCommand({ KeyId: key.keyId, NumberOfBytes: 64 }));
    const aes128 = await harness.client().send(new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_128' }));
    expect(sized.Plaintext).toHaveLength(64);
    expect(aes128.Plaintext).toHaveLength(16);
  });

  it('refuses a data key request with both NumberOfBytes and KeySpec', async () => {
    const key = await createKey(harness.client());
    await expect(
      harness.client().send(new GenerateDataKeyCommand({ KeyId: key.keyId, NumberOfBytes: 32, KeySpec: 'AES_256' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('encrypts through an alias and decrypts without naming the key', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/envelope-test', TargetKeyId: key.keyId }));
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: 'alias/envelope-test', Plaintext: Buffer.from('secret') }));
    const { Plaintext, KeyId } = await harness.client().send(new DecryptCommand({ CiphertextBlob }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('secret');
    expect(KeyId).toBe(key.arn);
  });

  it('produces a different ciphertext each time for the same plaintext', async () => {
    const key = await createKey(harness.client());
    const encrypt = () =>
      harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('same') }));
    const [first, second] = await Promise.all([encrypt(), encrypt()]);
    expect(Buffer.from(first.CiphertextBlob ?? []).equals(Buffer.from(second.CiphertextBlob ?? []))).toBe(false);
  });
});

describe('encryption context', () => {
  it.each([
    ['a different value', { subject: 'subject-43' }],
    ['no context at all', undefined],
    ['an extra pair', { subject: 'subject-42', extra: 'x' }],
  ])('refuses to decrypt with %s', async (_case, wrongContext) => {
    const key = await createKey(harness.client());
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x'), EncryptionContext: { subject: 'subject-42' } }));
    await expect(
      harness.client().send(new DecryptCommand({ CiphertextBlob, EncryptionContext: wrongContext })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('accepts the context pairs in any order', async () => {
    const key = await createKey(harness.client());
    const { CiphertextBlob } = await harness.client().send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x'), EncryptionContext: { a: '1', b: '2' } }),
    );
    const { Plaintext } = await harness
      .client()
      .send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { b: '2', a: '1' } }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('x');
  });
});

describe('ciphertext integrity', () => {
  it('refuses a tampered ciphertext', async () => {
    const key = await createKey(harness.client());
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') }));
    const tampered = Buffer.from(CiphertextBlob ?? []);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    await expect(harness.client().send(new DecryptCommand({ CiphertextBlob: tampered }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
  });

  it('refuses bytes that are no KMS ciphertext at all', async () => {
    await expect(
      harness.client().send(new DecryptCommand({ CiphertextBlob: randomBytes(64) })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('refuses to decrypt under a KeyId other than the one that encrypted', async () => {
    const encryptingKey = await createKey(harness.client());
    const otherKey = await createKey(harness.client());
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: encryptingKey.keyId, Plaintext: Buffer.from('x') }));
    await expect(
      harness.client().send(new DecryptCommand({ CiphertextBlob, KeyId: otherKey.keyId })),
    ).rejects.toMatchObject({ name: 'IncorrectKeyException' });
  });
});
