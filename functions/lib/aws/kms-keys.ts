import {
  CancelKeyDeletionCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
  type KMSClientConfig,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { isNotFound, isNotPendingDeletion, isPendingDeletion, isPendingImport } from './failures.ts';

/** What the erasure domain needs to know of a KMS key. */
export interface KmsKey {
  keyId: string;
  keyArn: string;
  accountId: string;
  keyManager: string;
  keyState: string;
  origin: string;
  multiRegion: boolean;
  /** For a multi-Region key: its family, as KMS lists it (the primary and every replica, by ARN). */
  family?: KeyFamily;
  deletionDate: Date | undefined;
  /** The waiting period a key pending deletion was scheduled with. */
  pendingWindowDays?: number;
}

export interface KeyFamily {
  role: 'PRIMARY' | 'REPLICA';
  primaryArn: string;
  replicaArns: string[];
}

export type DisableOutcome = 'disabled' | 'already-pending-deletion' | 'pending-import';

export interface ScheduleOutcome {
  keyState: string;
  /** Absent for a multi-Region primary waiting for its replicas (PendingReplicaDeletion). */
  deletionDate: Date | undefined;
  pendingWindowDays: number | undefined;
  alreadyScheduled: boolean;
}

/** The KMS calls the erasure makes, each in domain terms; domain functions take the few they use. */
export interface KmsKeys {
  /** `undefined` when KMS does not know the key or alias (NotFoundException): deleted, or never there. */
  describeKey(keyReference: string): Promise<KmsKey | undefined>;
  tagValue(keyArn: string, tagKey: string): Promise<string | undefined>;
  disableKey(keyArn: string): Promise<DisableOutcome>;
  scheduleKeyDeletion(keyArn: string, pendingWindowDays: number): Promise<ScheduleOutcome>;
  /** Cancels a pending deletion (KMS leaves the key Disabled); 'not-pending' when there was none to cancel. */
  cancelKeyDeletion(keyArn: string): Promise<'cancelled' | 'not-pending'>;
  enableKey(keyArn: string): Promise<void>;
  /** Deletes a key's imported material (Origin EXTERNAL): the key is unusable at once (PendingImport). */
  deleteImportedKeyMaterial(keyArn: string): Promise<void>;
  /** Every key of the account in this Region, by ARN (ListKeys, every page). */
  listKeyArns(): AsyncIterable<string>;
  /** Every alias of the account in this Region with the key it points at (ListAliases, every page). */
  listAliases(): AsyncIterable<{ aliasName: string; targetKeyId: string | undefined }>;
}

/**
 * The KMS calls, each sent to the Region of the key it names. KMS is regional: asked about a key
 * ARN of another Region, an endpoint answers NotFoundException, which verification would read as
 * "deleted". Given a client configuration, a call naming a key ARN goes to that ARN's Region
 * through a client of that configuration; any other reference (an alias, a bare key id) and the
 * listings go to the configuration's own Region. Given one client, a key of another Region is
 * refused rather than misread.
 */
export function kmsKeys(source: KMSClient | KMSClientConfig): KmsKeys {
  const kmsFor = source instanceof KMSClient ? oneRegion(source) : clientsByRegion(source);
  const send: KMSClient['send'] = (async (command: Parameters<KMSClient['send']>[0]) => {
    const keyId = (command.input as { KeyId?: string }).KeyId;
    const client = await kmsFor(keyId === undefined ? undefined : regionOfArn(keyId));
    return client.send(command);
  }) as KMSClient['send'];
  const kms = { send };

  return {
    async describeKey(keyReference) {
      try {
        const { KeyMetadata: metadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyReference }));
        return metadata ? toKmsKey(metadata) : undefined;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    async tagValue(keyArn, tagKey) {
      let marker: string | undefined;
      do {
        const page = await kms.send(new ListResourceTagsCommand({ KeyId: keyArn, Marker: marker }));
        const tag = page.Tags?.find((candidate) => candidate.TagKey === tagKey);
        if (tag) return tag.TagValue;
        marker = page.Truncated ? page.NextMarker : undefined;
      } while (marker);
      return undefined;
    },

    async disableKey(keyArn) {
      try {
        await kms.send(new DisableKeyCommand({ KeyId: keyArn }));
        return 'disabled';
      } catch (error) {
        // DisableKey fails on a key pending deletion or pending import (docs/aws-facts.md); both keys are
        // already unusable for cryptography, so the erasure carries on to scheduling.
        if (isPendingDeletion(error)) return 'already-pending-deletion';
        if (isPendingImport(error)) return 'pending-import';
        throw error;
      }
    },

    async scheduleKeyDeletion(keyArn, pendingWindowDays) {
      try {
        const response = await kms.send(
          new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: pendingWindowDays }),
        );
        return {
          keyState: response.KeyState ?? 'PendingDeletion',
          deletionDate: response.DeletionDate,
          pendingWindowDays: response.PendingWindowInDays,
          alreadyScheduled: false,
        };
      } catch (error) {
        // ScheduleKeyDeletion is not idempotent: a second call fails with KMSInvalidStateException.
        // A key already pending deletion is as scheduled as it can be; read its DeletionDate back.
        if (!isPendingDeletion(error)) throw error;
        const { KeyMetadata: metadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
        return {
          keyState: metadata?.KeyState ?? 'PendingDeletion',
          deletionDate: metadata?.DeletionDate,
          pendingWindowDays: metadata?.PendingDeletionWindowInDays,
          alreadyScheduled: true,
        };
      }
    },

    async cancelKeyDeletion(keyArn) {
      try {
        await kms.send(new CancelKeyDeletionCommand({ KeyId: keyArn }));
        return 'cancelled';
      } catch (error) {
        // CancelKeyDeletion fails on a key that is not pending deletion (docs/aws-facts.md): a retried
        // cancel, or a key someone else cancelled first, is as cancelled as it can be.
        if (isNotPendingDeletion(error)) return 'not-pending';
        throw error;
      }
    },

    async enableKey(keyArn) {
      await kms.send(new EnableKeyCommand({ KeyId: keyArn }));
    },

    async deleteImportedKeyMaterial(keyArn) {
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyArn }));
    },

    async *listKeyArns() {
      let marker: string | undefined;
      do {
        const page = await kms.send(new ListKeysCommand({ Marker: marker, Limit: 1000 }));
        for (const key of page.Keys ?? []) if (key.KeyArn) yield key.KeyArn;
        marker = page.Truncated ? page.NextMarker : undefined;
      } while (marker);
    },

    async *listAliases() {
      let marker: string | undefined;
      do {
        const page = await kms.send(new ListAliasesCommand({ Marker: marker, Limit: 100 }));
        for (const alias of page.Aliases ?? []) if (alias.AliasName) yield { aliasName: alias.AliasName, targetKeyId: alias.TargetKeyId };
        marker = page.Truncated ? page.NextMarker : undefined;
      } while (marker);
    },
  };
}

export function toKmsKey(metadata: KeyMetadata): KmsKey {
  const keyArn = metadata.Arn ?? '';
  return {
    keyId: metadata.KeyId ?? '',
    keyArn,
    accountId: metadata.AWSAccountId ?? keyArn.split(':')[4] ?? '',
    keyManager: metadata.KeyManager ?? '',
    keyState: metadata.KeyState ?? '',
    origin: metadata.Origin ?? '',
    multiRegion: metadata.MultiRegion ?? false,
    family: toKeyFamily(metadata),
    deletionDate: metadata.DeletionDate,
    ...(metadata.PendingDeletionWindowInDays ? { pendingWindowDays: metadata.PendingDeletionWindowInDays } : {}),
  };
}

function toKeyFamily(metadata: KeyMetadata): KeyFamily | undefined {
  const configuration = metadata.MultiRegionConfiguration;
  if (!metadata.MultiRegion || !configuration?.MultiRegionKeyType) return undefined;
  const ownArn = metadata.Arn ?? '';
  return {
    role: configuration.MultiRegionKeyType,
    // A primary's configuration names itself as PrimaryKey too; a replica's lists every replica,
    // itself included.
    primaryArn: configuration.PrimaryKey?.Arn ?? ownArn,
    replicaArns: (configuration.ReplicaKeys ?? []).flatMap((replica) => (replica.Arn ? [replica.Arn] : [])),
  };
}

/** The Region of a KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`); undefined for any other reference. */
export function regionOfArn(keyReference: string): string | undefined {
  const [prefix, , service, region] = keyReference.split(':');
  return prefix === 'arn' && service === 'kms' && region ? region : undefined;
}

function clientsByRegion(config: KMSClientConfig): (region: string | undefined) => Promise<KMSClient> {
  const home = new KMSClient(config);
  const others = new Map<string, KMSClient>();
  let homeRegion: Promise<string> | undefined;
  return async (region) => {
    if (region === undefined || region === (await (homeRegion ??= home.config.region()))) return home;
    let client = others.get(region);
    if (!client) {
      client = new KMSClient({ ...config, region });
      others.set(region, client);
    }
    return client;
  };
}

function oneRegion(client: KMSClient): (region: string | undefined) => Promise<KMSClient> {
  let ownRegion: Promise<string> | undefined;
  return async (region) => {
    if (region !== undefined && region !== (await (ownRegion ??= client.config.region()))) {
      throw new Error(`a KMS client of Region ${await ownRegion} cannot answer for a key of Region ${region}`);
    }
    return client;
  };
}
