import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { DAY_MS, createKey, importKeyMaterial, kmsForThisFile } from './kms-harness.ts';

const harness = kmsForThisFile();

const EXTERNAL_KEY = { Origin: 'EXTERNAL', Description: 'imported erasure key' } as const;

async function wrappedFor(keyId: string, material: Buffer) {
  const parameters = await harness.client().send(
    new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }),
  );
  const wrappingKey = createPublicKey({ key: Buffer.from(parameters.PublicKey ?? []), format: 'der', type: 'spki' });
  return {
    ImportToken: parameters.ImportToken,
    EncryptedKeyMaterial: publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material),
    ParametersValidTo: parameters.ParametersValidTo,
  };
}

describe('keys with imported key material', () => {
  it('creates an EXTERNAL key pending import, unusable until material arrives', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false });
    await expect(
      harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') })),
    ).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: `${key.arn} is pending import.` });
  });

  it('enables the key once the wrapped material is imported', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    await importKeyMaterial(harness.client(), key.keyId, randomBytes(32));
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('imported') }));
    const { Plaintext } = await harness.client().send(new DecryptCommand({ CiphertextBlob }));
    expect(KeyMetadata).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('imported');
  });

  it('crypto-erases at once: after DeleteImportedKeyMaterial the key is PendingImport and decrypt fails', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    await importKeyMaterial(harness.client(), key.keyId, randomBytes(32));
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('erase me') }));

    const deleted = await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));

    expect(deleted.KeyId).toBe(key.arn);
    expect(KeyMetadata).toMatchObject({ KeyState: 'PendingImport', Description: 'imported erasure key' });
    await expect(harness.client().send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending import.`,
    });
  });

  it('decrypts again if a kept copy of the same material is re-imported', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    const material = randomBytes(32);
    await importKeyMaterial(harness.client(), key.keyId, material);
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('not erased') }));
    await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    await importKeyMaterial(harness.client(), key.keyId, material);
    const { Plaintext } = await harness.client().send(new DecryptCommand({ CiphertextBlob }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('not erased');
  });

  it('refuses material other than the material first imported', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    await importKeyMaterial(harness.client(), key.keyId, randomBytes(32));
    await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    await expect(importKeyMaterial(harness.client(), key.keyId, randomBytes(32))).rejects.toMatchObject({
      name: 'IncorrectKeyMaterialException',
    });
  });

  it('refuses an import token issued for another key', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    const otherKey = await createKey(harness.client(), EXTERNAL_KEY);
    await wrappedFor(key.keyId, randomBytes(32));
    const wrapped = await wrappedFor(otherKey.keyId, randomBytes(32));
    await expect(
      harness.client().send(new ImportKeyMaterialCommand({ KeyId: key.keyId, ...withoutValidTo(wrapped) })),
    ).rejects.toMatchObject({ name: 'InvalidImportTokenException' });
  });

  it('refuses an import token older than 24 hours', async () => {
    const key = await createKey(harness.client(), EXTERNAL_KEY);
    const wrapped = await wrappedFor(key.keyId, randomBytes(32));
    harness.clock.advance(DAY_MS);
    expect(wrapped.ParametersValidTo?.getTime()).toBeLessThanOrEqual(harness.clock.now().getTime());
    await expect(
      harness.client().send(new ImportKeyMaterialCommand({ KeyId: key.keyId, ...withoutValidTo(wrapped) })),
    ).rejects.toMatchObject({ name: 'ExpiredImportTokenException' });
  });

  it('refuses import parameters for a key whose material KMS generated', async () => {
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({}));
    await expect(
      harness.client().send(
        new GetParametersForImportCommand({
          KeyId: KeyMetadata?.KeyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      message: `${KeyMetadata?.Arn} origin is AWS_KMS which is not valid for this operation.`,
    });
  });
});

function withoutValidTo(wrapped: Awaited<ReturnType<typeof wrappedFor>>) {
  return { ImportToken: wrapped.ImportToken, EncryptedKeyMaterial: wrapped.EncryptedKeyMaterial };
}
