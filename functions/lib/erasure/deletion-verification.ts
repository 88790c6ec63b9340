import type { KmsKeys } from '../aws/kms-keys.ts';
import type { ScheduledKey } from './deletion-scheduling.ts';
import { DeletionOverdue, ReplicaOutsideErasure } from './errors.ts';

// KMS may delete a key up to 24 hours after its DeletionDate (docs/aws-facts.md): once the date has passed,
// check again after an hour, then backing off, and page on-call only when the key outlives the date
// by twice that slack.
export const RECHECK_INTERVAL_MS = 60 * 60 * 1000;
export const OVERDUE_AFTER_MS = 48 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export type KeyFate = 'Deleted' | 'PendingDeletion' | 'PendingReplicaDeletion' | 'DeletionCancelled';

export interface KeyCheck {
  keyArn: string;
  fate: KeyFate;
  /** The state KMS reports for a key that is not deleted: e.g. Disabled after CancelKeyDeletion. */
  keyState: string | null;
  deletionDate: string | null;
}

export type ErasureStatus = 'Deleted' | 'Pending' | 'Cancelled';

export interface Verification {
  status: ErasureStatus;
  checkedAt: string;
  /** When to look again (RFC 3339, whole seconds); null once settled. */
  nextCheckAt: string | null;
  /** The same, as the whole seconds from now a Task's TimeoutSecondsPath wants; null once settled. */
  recheckInSeconds: number | null;
  keys: KeyCheck[];
}

/**
 * Asks KMS what became of each scheduled key. DescribeKey answering NotFoundException is the proof
 * of deletion; a key no longer pending deletion means someone cancelled it in the waiting period.
 * While keys are pending, the next check is their latest DeletionDate, or a bounded interval once
 * that date has passed: a wait until the date, never a daily loop.
 */
export async function verifyErasure(
  kms: Pick<KmsKeys, 'describeKey'>,
  scheduled: ScheduledKey[],
  now: Date,
): Promise<Verification> {
  const keys: KeyCheck[] = [];
  for (const key of scheduled) {
    const current = await kms.describeKey(key.keyArn);
    if (!current) {
      keys.push({ keyArn: key.keyArn, fate: 'Deleted', keyState: null, deletionDate: key.deletionDate });
    } else if (current.keyState === 'PendingDeletion' || current.keyState === 'PendingReplicaDeletion') {
      const outside = current.family?.replicaArns.filter((replica) => !scheduled.some((candidate) => candidate.keyArn === replica)) ?? [];
      if (current.keyState === 'PendingReplicaDeletion' && outside.length > 0) {
        // KMS deletes this primary only after every replica: one this erasure never scheduled (made
        // after the keys were resolved) would keep the family, and the data, forever.
        throw new ReplicaOutsideErasure(`multi-Region key ${key.keyArn} waits for replicas this erasure did not schedule: ${outside.join(', ')}`);
      }
      keys.push({
        keyArn: key.keyArn,
        fate: current.keyState,
        keyState: current.keyState,
        deletionDate: current.deletionDate?.toISOString() ?? null,
      });
    } else {
      keys.push({ keyArn: key.keyArn, fate: 'DeletionCancelled', keyState: current.keyState, deletionDate: null });
    }
  }

  const checkedAt = now.toISOString();
  if (keys.some((key) => key.fate === 'DeletionCancelled')) {
    return { status: 'Cancelled', checkedAt, nextCheckAt: null, recheckInSeconds: null, keys };
  }
  if (keys.every((key) => key.fate === 'Deleted')) {
    return { status: 'Deleted', checkedAt, nextCheckAt: null, recheckInSeconds: null, keys };
  }
  const nextCheckAt = nextCheck(keys, scheduled, now);
  return { status: 'Pending', checkedAt, nextCheckAt, recheckInSeconds: secondsUntil(nextCheckAt, now), keys };
}

function nextCheck(keys: KeyCheck[], scheduled: ScheduledKey[], now: Date): string {
  let next = now.getTime() + RECHECK_INTERVAL_MS;
  let latestDue = 0;
  for (const key of keys) {
    if (key.fate === 'PendingDeletion' && key.deletionDate) {
      const due = Date.parse(key.deletionDate);
      if (now.getTime() - due > OVERDUE_AFTER_MS) {
        throw new DeletionOverdue(`key ${key.keyArn} is still pending deletion ${Math.round((now.getTime() - due) / 3_600_000)} hours after its deletion date ${key.deletionDate}`);
      }
      latestDue = Math.max(latestDue, due);
    }
  }
  // A primary's waiting period starts only when its last replica is deleted: a full window after
  // the replicas' latest deletion date (or from now, once they are gone) is the earliest it goes.
  // While a replica is late, the backoff below watches it instead, so a stalled one is paged on.
  const replicasLate = latestDue > 0 && latestDue <= now.getTime();
  const replicasGone = Math.max(latestDue, now.getTime());
  for (const key of keys) {
    if (key.fate !== 'PendingReplicaDeletion' || replicasLate) continue;
    const windowDays = scheduled.find((candidate) => candidate.keyArn === key.keyArn)?.pendingWindowDays ?? 7;
    latestDue = Math.max(latestDue, replicasGone + windowDays * DAY_MS);
  }
  if (latestDue > now.getTime()) {
    next = latestDue;
  } else if (latestDue > 0) {
    // KMS is late: look again after as long again as it has been late (1 h, 2 h, 4 h, ...), so a
    // lag of a day costs a handful of checks, not one an hour; but no later than just past the
    // point where a key is overdue, so on-call hears of it then.
    const late = now.getTime() - latestDue;
    next = now.getTime() + Math.max(RECHECK_INTERVAL_MS, Math.min(late, latestDue + OVERDUE_AFTER_MS + RECHECK_INTERVAL_MS - now.getTime()));
  }
  return wholeSecondsAfter(next);
}

/**
 * When to verify freshly scheduled keys: at the latest DeletionDate, when KMS may first have
 * deleted them all (a multi-Region primary, which has none yet, a full window after its replicas'
 * latest date). Checking any earlier could only answer "pending".
 */
export function firstCheckAt(scheduled: ScheduledKey[], now: Date): string {
  let latestDated = now.getTime();
  for (const key of scheduled) if (key.deletionDate) latestDated = Math.max(latestDated, Date.parse(key.deletionDate));
  // A multi-Region primary has no date yet: its window starts when its replicas, dated, are gone.
  let latestDue = latestDated;
  for (const key of scheduled) if (!key.deletionDate) latestDue = Math.max(latestDue, latestDated + key.pendingWindowDays * DAY_MS);
  return wholeSecondsAfter(latestDue);
}

/** Whole seconds from `now` until `instant`, at least one. */
export function secondsUntil(instant: string, now: Date): number {
  return Math.max(1, Math.ceil((Date.parse(instant) - now.getTime()) / 1000));
}

/**
 * How long after the latest deletion date an erasure that heard no deletion event looks for itself:
 * past the 24 hours KMS may take (docs/aws-facts.md), since KMS's event wakes it as soon as the keys are gone
 * and a look within that day would mostly find them still pending, at a state transition's price.
 */
export const FALLBACK_SLACK_SECONDS = 25 * 3600;

/** RFC 3339 with upper-case T and Z and no fraction, rounded up so a check never comes early. */
export function wholeSecondsAfter(epochMs: number): string {
  return new Date(Math.ceil(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
