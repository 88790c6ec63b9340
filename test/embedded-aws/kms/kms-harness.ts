import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  type CreateKeyCommandInput,
  DeleteImportedKeyMaterialCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { DEFAULT_TRANSITION_MS } from '../../../embedded-aws/kms/key-transitions.ts';
import { EmbeddedKms, type EmbeddedKmsOptions } from '../../../embedded-aws/kms/index.ts';
import type { AwsEvent } from '../../../embedded-aws/protocol.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { afterAll, beforeAll } from 'vitest';

export const ACCOUNT_ID = '111122223333';
export const HOME_REGION = 'eu-west-1';
export const REPLICA_REGION = 'us-east-1';
/** A third Region, for a primary key with two replicas. */
export const SECOND_REPLICA_REGION = 'ap-southeast-2';
export const DAY_MS = 24 * 60 * 60 * 1000;

export interface KmsHarness {
  clock: VirtualClock;
  kms: EmbeddedKms;
  /** Every event the embedded KMS emitted, in order. */
  events: AwsEvent[];
  endpoint: string;
  client(region?: string, options?: { maxAttempts?: number }): KMSClient;
  close(): Promise<void>;
}

/**
 * The embedded KMS behind a real loopback server, driven through the real SDK client. Virtual time
 * barely moves on its own (one virtual millisecond per real second), so tests move it explicitly
 * with `clock.advance`.
 */
export async function startKms(options: Omit<EmbeddedKmsOptions, 'clock' | 'emit'> = {}): Promise<KmsHarness> {
  const clock = new VirtualClock({ start: new Date('2026-03-01T09:00:00.000Z'), timeScale: 0.001 });
  const events: AwsEvent[] = [];
  const kms = new EmbeddedKms({ ...options, clock, emit: (event) => events.push(event) });
  const server = new EmbeddedAwsServer({
    port: 0,
    defaultRegion: HOME_REGION,
    accountId: ACCOUNT_ID,
    jsonServices: [kms],
    queryServices: [],
  });
  const endpoint = await server.listen();
  const clients: KMSClient[] = [];
  return {
    clock,
    kms,
    events,
    endpoint,
    client(region = HOME_REGION, clientOptions = {}) {
      const client = new KMSClient({
        endpoint,
        region,
        credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'embedded-secret' },
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      kms.close();
      await server.close();
    },
  };
}

/**
 * One harness for the whole test file: started before its tests, closed after them. The returned
 * object stands for it (it is only usable inside tests and hooks).
 */
export function kmsForThisFile(options: Omit<EmbeddedKmsOptions, 'clock' | 'emit'> = {}): KmsHarness {
  let started: KmsHarness | undefined;
  beforeAll(async () => {
    started = await startKms(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as KmsHarness, {
    get: (_, property) => {
      if (!started) throw new Error('the KMS harness is only started for the tests of this file');
      return Reflect.get(started, property);
    },
  });
}

export async function createKey(kms: KMSClient, input: CreateKeyCommandInput = {}): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));
  return { keyId: KeyMetadata?.KeyId ?? '', arn: KeyMetadata?.Arn ?? '' };
}

export type ReachableKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingReplicaDeletion' | 'PendingImport';

export interface PreparedKey {
  keyId: string;
  arn: string;
  /** A ciphertext sealed under the key while it was still usable. */
  ciphertext: Uint8Array;
}

/**
 * A customer managed key brought into `state` through the API, with a ciphertext made while it was
 * Enabled. PendingImport is reached as in crypto-erase: material imported, used, then deleted.
 */
export async function keyInState(harness: KmsHarness, state: ReachableKeyState): Promise<PreparedKey> {
  const kms = harness.client();
  const created = await kms.send(
    new CreateKeyCommand({
      Origin: state === 'PendingImport' ? 'EXTERNAL' : 'AWS_KMS',
      MultiRegion: state === 'PendingReplicaDeletion',
    }),
  );
  const keyId = created.KeyMetadata?.KeyId ?? '';
  const arn = created.KeyMetadata?.Arn ?? '';
  if (state === 'PendingImport') await importKeyMaterial(kms, keyId, randomBytes(32));
  const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('subject record') }));
  if (state === 'Disabled') await kms.send(new DisableKeyCommand({ KeyId: keyId }));
  if (state === 'PendingDeletion') await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
  if (state === 'PendingImport') await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
  if (state === 'PendingReplicaDeletion') {
    await kms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
  }
  return { keyId, arn, ciphertext: CiphertextBlob ?? new Uint8Array() };
}

/**
 * Replicates a multi-Region primary key (named in its own Region) into `replicaRegion`, then lets the
 * virtual clock run past the few seconds the replica is Creating.
 */
export async function replicateKey(harness: KmsHarness, keyId: string, replicaRegion: string): Promise<{ arn: string }> {
  const { ReplicaKeyMetadata } = await harness.client().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: replicaRegion }));
  harness.clock.advance(DEFAULT_TRANSITION_MS);
  return { arn: ReplicaKeyMetadata?.Arn ?? '' };
}

/** Wraps `material` with the import parameters' public key (RSAES_OAEP_SHA_256) and imports it. */
export async function importKeyMaterial(kms: KMSClient, keyId: string, material: Buffer): Promise<void> {
  const parameters = await kms.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    }),
  );
  const wrappingKey = createPublicKey({ key: Buffer.from(parameters.PublicKey ?? []), format: 'der', type: 'spki' });
  const encryptedKeyMaterial = publicEncrypt(
    { key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    material,
  );
  await kms.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: parameters.ImportToken,
      EncryptedKeyMaterial: encryptedKeyMaterial,
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    }),
  );
}
