import type { DisableOutcome, KmsKeys } from '../aws/kms-keys.ts';
import type { ErasureKey } from './key-authorisation.ts';

export interface DisabledKey {
  keyArn: string;
  outcome: DisableOutcome;
}

/**
 * Disables the key first, so it stops serving Encrypt and Decrypt at once rather than at the end of
 * the waiting period; a key already pending deletion or import is unusable already.
 */
export async function disableErasureKey(kms: Pick<KmsKeys, 'disableKey'>, key: ErasureKey): Promise<DisabledKey> {
  return { keyArn: key.keyArn, outcome: await kms.disableKey(key.keyArn) };
}

export interface ScheduledKey {
  keyId: string;
  keyArn: string;
  keyState: string;
  /** RFC 3339; null for a multi-Region primary whose window starts only when its replicas are gone. */
  deletionDate: string | null;
  pendingWindowDays: number;
  alreadyScheduled: boolean;
}

export async function scheduleErasureKeyDeletion(
  kms: Pick<KmsKeys, 'scheduleKeyDeletion'>,
  key: ErasureKey,
  pendingWindowDays: number,
): Promise<ScheduledKey> {
  const scheduled = await kms.scheduleKeyDeletion(key.keyArn, pendingWindowDays);
  return {
    keyId: key.keyId,
    keyArn: key.keyArn,
    keyState: scheduled.keyState,
    deletionDate: scheduled.deletionDate ? scheduled.deletionDate.toISOString() : null,
    pendingWindowDays: scheduled.pendingWindowDays ?? pendingWindowDays,
    alreadyScheduled: scheduled.alreadyScheduled,
  };
}
