import type { KmsKeys } from '../aws/kms-keys.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { disableErasureKey, scheduleErasureKeyDeletion, type ScheduledKey } from './deletion-scheduling.ts';
import { FALLBACK_SLACK_SECONDS, firstCheckAt, secondsUntil } from './deletion-verification.ts';
import type { ErasureKey } from './key-authorisation.ts';
import type { QuotaPacer } from './quota-pacing.ts';

export interface KeyErasureOrder {
  execution: string;
  subjectFingerprint: string;
  keys: ErasureKey[];
}

/** What the erasure's execution is handed back: the keys as scheduled, and when to verify them. */
export interface ErasedKeys {
  keys: ScheduledKey[];
  /** RFC 3339, whole seconds: the latest deletion date, when KMS may first have deleted them all. */
  firstCheckAt: string;
  /**
   * How long the erasure waits for KMS's deletion event before it looks for itself: until
   * `firstCheckAt` and an hour's slack (a Task's TimeoutSecondsPath wants whole seconds).
   */
  firstCheckInSeconds: number;
}

/**
 * Disables, then schedules the deletion of, each key of one erasure, each call in its turn at the
 * pace KMS's quotas allow across all erasures. Each step is recorded in the ledger as it is done;
 * both are idempotent in KMS (a key already pending deletion counts as disabled and scheduled), so
 * an order delivered twice does no harm.
 */
export async function eraseKeysAtPace(
  order: KeyErasureOrder,
  services: {
    kms: Pick<KmsKeys, 'disableKey' | 'scheduleKeyDeletion'>;
    ledger: Pick<Ledger, 'record'>;
    pace: { disableKey: QuotaPacer; scheduleKeyDeletion: QuotaPacer };
    pendingWindowDays: number;
    now: () => Date;
  },
): Promise<ErasedKeys> {
  const { kms, ledger, pace } = services;
  const scheduled: ScheduledKey[] = [];
  for (const key of order.keys) {
    const disabled = await pace.disableKey.call(() => disableErasureKey(kms, key));
    await ledger.record(order.subjectFingerprint, order.execution, { type: 'KeyDisabled', keyArn: key.keyArn, outcome: disabled.outcome });
    const deletion = await pace.scheduleKeyDeletion.call(() => scheduleErasureKeyDeletion(kms, key, services.pendingWindowDays));
    const { keyArn, deletionDate, pendingWindowDays, alreadyScheduled } = deletion;
    await ledger.record(order.subjectFingerprint, order.execution, { type: 'KeyDeletionScheduled', keyArn, deletionDate, pendingWindowDays, alreadyScheduled });
    scheduled.push(deletion);
  }
  const now = services.now();
  const checkAt = firstCheckAt(scheduled, now);
  return { keys: scheduled, firstCheckAt: checkAt, firstCheckInSeconds: secondsUntil(checkAt, now) + FALLBACK_SLACK_SECONDS };
}
