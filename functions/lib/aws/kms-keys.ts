import {
  CancelKeyDeletionCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
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
  deletionDate: Date | undefined;
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
  /** Every key of the account in this Region, by ARN (ListKeys, every page). */
  listKeyArns(): AsyncIterable<string>;
  /** Every alias of the account in this Region with the key it points at (ListAliases, every page). */
  listAliases(): AsyncIterable<{ aliasName: string; targetKeyId: string | undefined }>;
}

export function kmsKeys(kms: KMSClient): KmsKeys {
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
        // DisableKey fails on a key pending deletion or pending import (AWS-FACTS); both keys are
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
        // CancelKeyDeletion fails on a key that is not pending deletion (AWS-FACTS): a retried
        // cancel, or a key someone else cancelled first, is as cancelled as it can be.
        if (isNotPendingDeletion(error)) return 'not-pending';
        throw error;
      }
    },

    async enableKey(keyArn) {
      await kms.send(new EnableKeyCommand({ KeyId: keyArn }));
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

function toKmsKey(metadata: KeyMetadata): KmsKey {
  const keyArn = metadata.Arn ?? '';
  return {
    keyId: metadata.KeyId ?? '',
    keyArn,
    accountId: metadata.AWSAccountId ?? keyArn.split(':')[4] ?? '',
    keyManager: metadata.KeyManager ?? '',
    keyState: metadata.KeyState ?? '',
    origin: metadata.Origin ?? '',
    multiRegion: metadata.MultiRegion ?? false,
    deletionDate: metadata.DeletionDate,
  };
}
