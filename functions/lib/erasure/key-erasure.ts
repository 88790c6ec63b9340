import { regionOfArn, type KmsKeys } from '../aws/kms-keys.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { disableErasureKey, scheduleErasureKeyDeletion, type ScheduledKey } from './deletion-scheduling.ts';
import { FALLBACK_SLACK_SECONDS, firstCheckAt, secondsUntil } from './deletion-verification.ts';
import { ErasureError } from './errors.ts';
import type { ErasureKey } from './key-authorisation.ts';
import type { QuotaPacer } from './quota-pacing.ts';

export interface KeyErasureOrder {
  execution: string;
  subjectFingerprint: string;
  keys: ErasureKey[];
  /** Delete imported key material (Origin EXTERNAL) at once, before scheduling the key's deletion. */
  immediate: boolean;
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

/** KMS's quotas are per account and per Region: each Region's calls keep their own pace. */
export interface RegionalPace {
  disableKey: QuotaPacer;
  scheduleKeyDeletion: QuotaPacer;
  deleteImportedKeyMaterial: QuotaPacer;
}

/**
 * Some of an erasure's keys are scheduled for deletion and the next one failed: says which are
 * done and which are not, and carries the done ones so a retry does not make their calls again.
 */
export class KeyErasureIncomplete extends ErasureError {
  override readonly name = 'KeyErasureIncomplete';
  readonly refusal = false;
  readonly scheduled: ScheduledKey[];
  readonly remaining: ErasureKey[];

  constructor(scheduled: ScheduledKey[], remaining: ErasureKey[], failure: unknown) {
    const reason = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    super(
      `${scheduled.length} of ${scheduled.length + remaining.length} keys scheduled for deletion` +
        `${scheduled.length > 0 ? ` (${scheduled.map((key) => key.keyArn).join(', ')})` : ''}; ` +
        `not done: ${remaining.map((key) => key.keyArn).join(', ')}; ${remaining[0]?.keyArn} failed with ${reason}`,
      { cause: failure },
    );
    this.scheduled = scheduled;
    this.remaining = remaining;
  }
}

/**
 * Disables, then schedules the deletion of, each key of one erasure, each call in its turn at the
 * pace KMS's quotas allow across all erasures, in the key's own Region. Each step is recorded in
 * the ledger as it is done. A key the erasure found already pending deletion (a retried closure, a
 * family member scheduled before) is only recorded, not touched again; a key in `done` (this
 * order's earlier attempt) is neither.
 */
export async function eraseKeysAtPace(
  order: KeyErasureOrder,
  services: {
    kms: Pick<KmsKeys, 'disableKey' | 'scheduleKeyDeletion' | 'deleteImportedKeyMaterial'>;
    ledger: Pick<Ledger, 'record'>;
    pace: (region: string) => RegionalPace;
    pendingWindowDays: number;
    now: () => Date;
  },
  done: ScheduledKey[] = [],
): Promise<ErasedKeys> {
  const { kms, ledger } = services;
  const record = (event: Parameters<Ledger['record']>[2]) => ledger.record(order.subjectFingerprint, order.execution, event);
  const scheduled = [...done];
  const left = order.keys.filter((key) => !done.some((finished) => finished.keyArn === key.keyArn));
  for (const [index, key] of left.entries()) {
    try {
      scheduled.push(await eraseKey(key));
    } catch (error) {
      throw new KeyErasureIncomplete(scheduled, left.slice(index), error);
    }
  }
  const now = services.now();
  const checkAt = firstCheckAt(scheduled, now);
  return { keys: scheduled, firstCheckAt: checkAt, firstCheckInSeconds: secondsUntil(checkAt, now) + FALLBACK_SLACK_SECONDS };

  async function eraseKey(key: ErasureKey): Promise<ScheduledKey> {
    // Found already scheduled, with its date known: nothing to ask KMS (without the date, scheduling
    // again reads it back, harmlessly).
    if ((key.keyState === 'PendingDeletion' && key.deletionDate) || key.keyState === 'PendingReplicaDeletion') {
      const deletion = alreadyScheduled(key, services.pendingWindowDays);
      await record({ type: 'KeyDeletionScheduled', keyArn: key.keyArn, deletionDate: deletion.deletionDate, pendingWindowDays: deletion.pendingWindowDays, alreadyScheduled: true });
      return deletion;
    }
    const pace = services.pace(regionOfArn(key.keyArn) ?? '');
    const disabled = await pace.disableKey.call(() => disableErasureKey(kms, key));
    await record({ type: 'KeyDisabled', keyArn: key.keyArn, outcome: disabled.outcome });
    if (order.immediate && key.origin === 'EXTERNAL') {
      // The material is gone at once (the key goes to PendingImport): data under it is unreadable
      // now, not at the end of the waiting period. KMS keeps no copy; the subject's HSM may.
      await pace.deleteImportedKeyMaterial.call(() => kms.deleteImportedKeyMaterial(key.keyArn));
      await record({ type: 'KeyMaterialDeleted', keyArn: key.keyArn });
    }
    const deletion = await pace.scheduleKeyDeletion.call(() => scheduleErasureKeyDeletion(kms, key, services.pendingWindowDays));
    const { keyArn, deletionDate, pendingWindowDays } = deletion;
    await record({ type: 'KeyDeletionScheduled', keyArn, deletionDate, pendingWindowDays, alreadyScheduled: deletion.alreadyScheduled });
    return deletion;
  }
}

function alreadyScheduled(key: ErasureKey, pendingWindowDays: number): ScheduledKey {
  return {
    keyId: key.keyId,
    keyArn: key.keyArn,
    keyState: key.keyState,
    deletionDate: key.deletionDate ?? null,
    pendingWindowDays: key.pendingWindowDays ?? pendingWindowDays,
    alreadyScheduled: true,
  };
}
