import { randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import {importKeyMaterial, keyInState, kmsForThisFile, type ReachableKeyState } from './kms-harness.ts';

/** One test per cell of the key-state table in docs/aws-facts.md, through the real SDK client. */
const harness = kmsForThisFile();

const PENDING_DELETION_STATES: ReachableKeyState[] = ['PendingDeletion', 'PendingReplicaDeletion'];

async function stateOf(keyId: string): Promise<string | undefined> {
  const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: keyId }));
  return KeyMetadata?.KeyState;
}

describe('DescribeKey', () => {
  it.each<ReachableKeyState>(['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport'])(
    'describes a key in state %s',
    async (state) => {
      const key = await keyInState(harness, state);
      expect(await stateOf(key.keyId)).toBe(state);
    },
  );
});

describe('DisableKey and EnableKey', () => {
  it.each<ReachableKeyState>(['Enabled', 'Disabled'])('disables a key in state %s', async (state) => {
    const key = await keyInState(harness, state);
    await harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }));
    expect(await stateOf(key.keyId)).toBe('Disabled');
  });

  it.each<ReachableKeyState>(['Enabled', 'Disabled'])('enables a key in state %s', async (state) => {
    const key = await keyInState(harness, state);
    await harness.client().send(new EnableKeyCommand({ KeyId: key.keyId }));
    expect(await stateOf(key.keyId)).toBe('Enabled');
  });

  it.each(PENDING_DELETION_STATES)('refuses to disable a key in state %s as pending deletion', async (state) => {
    const key = await keyInState(harness, state);
    await expect(harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending deletion.`,
    });
  });

  it.each(PENDING_DELETION_STATES)('refuses to enable a key in state %s as pending deletion', async (state) => {
    const key = await keyInState(harness, state);
    await expect(harness.client().send(new EnableKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending deletion.`,
    });
  });

  it('refuses to disable a key pending import', async () => {
    const key = await keyInState(harness, 'PendingImport');
    await expect(harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending import.`,
    });
  });

  it('refuses to enable a key pending import', async () => {
    const key = await keyInState(harness, 'PendingImport');
    await expect(harness.client().send(new EnableKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending import.`,
    });
  });
});

describe('ScheduleKeyDeletion', () => {
  it.each<ReachableKeyState>(['Enabled', 'Disabled', 'PendingImport'])(
    'schedules deletion of a key in state %s',
    async (state) => {
      const key = await keyInState(harness, state);
      const scheduled = await harness
        .client()
        .send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
      expect(scheduled).toMatchObject({ KeyId: key.arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    },
  );

  it('refuses to schedule a key already pending deletion, so it is not idempotent', async () => {
    const key = await keyInState(harness, 'PendingDeletion');
    await expect(harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending deletion.`,
    });
  });

  it('refuses to schedule a primary key already pending replica deletion', async () => {
    const key = await keyInState(harness, 'PendingReplicaDeletion');
    await expect(harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending deletion.`,
    });
  });
});

describe('CancelKeyDeletion', () => {
  it.each(PENDING_DELETION_STATES)('cancels deletion of a key in state %s and leaves it Disabled', async (state) => {
    const key = await keyInState(harness, state);
    const cancelled = await harness.client().send(new CancelKeyDeletionCommand({ KeyId: key.keyId }));
    expect(cancelled.KeyId).toBe(key.arn);
    expect(await stateOf(key.keyId)).toBe('Disabled');
  });

  it.each<ReachableKeyState>(['Enabled', 'Disabled', 'PendingImport'])(
    'refuses to cancel deletion of a key in state %s',
    async (state) => {
      const key = await keyInState(harness, state);
      await expect(harness.client().send(new CancelKeyDeletionCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
        name: 'KMSInvalidStateException',
        message: `${key.arn} is not pending deletion.`,
      });
    },
  );
});

describe('Encrypt, Decrypt and GenerateDataKey', () => {
  const cryptographicCalls = {
    Encrypt: (keyId: string) => new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('subject record') }),
    Decrypt: (keyId: string, ciphertext: Uint8Array) => new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext }),
    GenerateDataKey: (keyId: string) => new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }),
  };
  const operations = Object.keys(cryptographicCalls) as (keyof typeof cryptographicCalls)[];

  function send(operation: keyof typeof cryptographicCalls, keyId: string, ciphertext: Uint8Array) {
    const client = harness.client();
    if (operation === 'Encrypt') return client.send(cryptographicCalls.Encrypt(keyId));
    if (operation === 'Decrypt') return client.send(cryptographicCalls.Decrypt(keyId, ciphertext));
    return client.send(cryptographicCalls.GenerateDataKey(keyId));
  }

  it.each(operations)('%s succeeds with an Enabled key', async (operation) => {
    const key = await keyInState(harness, 'Enabled');
    const response = await send(operation, key.keyId, key.ciphertext);
    expect(response.KeyId).toBe(key.arn);
  });

  it.each(operations)('%s refuses a Disabled key with DisabledException', async (operation) => {
    const key = await keyInState(harness, 'Disabled');
    await expect(send(operation, key.keyId, key.ciphertext)).rejects.toMatchObject({
      name: 'DisabledException',
      message: `${key.arn} is disabled.`,
    });
  });

  it.each(operations.flatMap((operation) => PENDING_DELETION_STATES.map((state) => [operation, state] as const)))(
    '%s refuses a key in state %s as pending deletion',
    async (operation, state) => {
      const key = await keyInState(harness, state);
      await expect(send(operation, key.keyId, key.ciphertext)).rejects.toMatchObject({
        name: 'KMSInvalidStateException',
        message: `${key.arn} is pending deletion.`,
      });
    },
  );

  it.each(operations)('%s refuses a key pending import', async (operation) => {
    const key = await keyInState(harness, 'PendingImport');
    await expect(send(operation, key.keyId, key.ciphertext)).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending import.`,
    });
  });
});

describe('DeleteImportedKeyMaterial', () => {
  async function keyWithImportedMaterial(): Promise<{ keyId: string; arn: string }> {
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
    const keyId = KeyMetadata?.KeyId ?? '';
    await importKeyMaterial(harness.client(), keyId, randomBytes(32));
    return { keyId, arn: KeyMetadata?.Arn ?? '' };
  }

  it('deletes the imported material of an Enabled key and leaves it PendingImport', async () => {
    const key = await keyWithImportedMaterial();
    await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    expect(await stateOf(key.keyId)).toBe('PendingImport');
  });

  it('deletes the imported material of a Disabled key and leaves it PendingImport', async () => {
    const key = await keyWithImportedMaterial();
    await harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }));
    await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    expect(await stateOf(key.keyId)).toBe('PendingImport');
  });

  it('deletes the imported material of a key pending deletion and leaves it pending deletion', async () => {
    const key = await keyWithImportedMaterial();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion' });
    expect(KeyMetadata?.CurrentKeyMaterialId).toBeUndefined();
  });

  it('has no effect on a key already pending import', async () => {
    const key = await keyInState(harness, 'PendingImport');
    const response = await harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.keyId }));
    expect(response.KeyId).toBe(key.arn);
    expect(await stateOf(key.keyId)).toBe('PendingImport');
  });

  it('refuses a key whose material KMS generated', async () => {
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({}));
    await expect(
      harness.client().send(new DeleteImportedKeyMaterialCommand({ KeyId: KeyMetadata?.KeyId })),
    ).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      message: `${KeyMetadata?.Arn} origin is AWS_KMS which is not valid for this operation.`,
    });
  });
});
