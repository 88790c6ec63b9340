import type { KmsKeys } from '../aws/kms-keys.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { closureOf, type SubjectRecord } from '../ledger/subject-record.ts';
import { publishOnce, type ReportingContext } from './erasure-reporting.ts';
import { ErasureIrreversible, LedgerChainBroken, NothingToCancel, NothingToRelease } from './errors.ts';

/**
 * What operators decide about a subject's erasure, inside the waiting period: cancel it, hold it
 * for legal reasons, release it. Each decision is recorded in the ledger with who made it and why,
 * so an auditor sees it years later, and so the pipeline honours it: a closure after a cancel or
 * under a hold erases nothing until a release.
 */
/** The error an operator's cancel stops the execution with: its end is the operator's, not an incident. */
export const CANCELLED_BY_OPERATOR = 'ErasureCancelled';

export interface OperatorContext extends Pick<ReportingContext, 'publisher' | 'config' | 'now'> {
  ledger: Ledger;
  kms: Pick<KmsKeys, 'describeKey' | 'cancelKeyDeletion' | 'enableKey'>;
  executions: { stop(executionArn: string, error: string, cause: string): Promise<void> };
  /** Makes the decision idempotent: the same request retried is recorded once. */
  requestId: string;
}

export interface Decision {
  by: string;
  reason: string;
}

export interface KeyAfterCancel {
  keyArn: string;
  /** The key's state once the decision is carried out; `Deleted` when KMS had already destroyed it. */
  keyState: string;
  cancelled: boolean;
}

export interface CancelOutcome {
  outcome: 'cancelled' | 'already-cancelled';
  erasure: string;
  keys: KeyAfterCancel[];
  messageIds: string[];
}

/**
 * Cancels the subject's erasure: every key still pending deletion has its deletion cancelled (KMS
 * leaves it Disabled; `enable` re-enables it), the execution is stopped, the cancellation recorded
 * and announced. Refuses once KMS has destroyed the keys: that cannot be undone.
 */
export async function cancelErasure(subject: string, decision: Decision & { enable?: boolean }, context: OperatorContext): Promise<CancelOutcome> {
  const record = await readIntact(context.ledger, subject);
  const erasure = record.erasures.at(-1);
  if (!erasure) throw new NothingToCancel(`subject ${subject} has no erasure in the ledger`);
  if (erasure.status === 'completed') {
    throw new ErasureIrreversible(`subject ${subject} was erased on ${erasure.endedAt}: KMS has destroyed its keys, and this cannot be undone`);
  }
  if (erasure.status === 'cancelled') return { outcome: 'already-cancelled', erasure: erasure.erasure, keys: [], messageIds: [] };

  // Decided before anything changes: an execution stopped for a cancel then refused would never
  // verify the deletion nor issue the certificate, and its end would read as the operator's.
  await refuseIfEveryKeyDeleted(subject, erasure.keys, context.kms);

  // Stopped first, so that no check of the execution's can find a key's deletion cancelled and
  // report the cancellation as its own before the operator's decision is recorded.
  const cause = `cancelled by ${decision.by}: ${decision.reason}`;
  if (erasure.status === 'running') await context.executions.stop(erasure.erasure, CANCELLED_BY_OPERATOR, cause);

  const keys: KeyAfterCancel[] = [];
  for (const keyArn of erasure.keys) {
    const key = await context.kms.describeKey(keyArn);
    if (!key) {
      keys.push({ keyArn, keyState: 'Deleted', cancelled: false });
      continue;
    }
    let keyState = key.keyState;
    let cancelled = false;
    if (keyState === 'PendingDeletion' || keyState === 'PendingReplicaDeletion') {
      cancelled = (await context.kms.cancelKeyDeletion(keyArn)) === 'cancelled';
      keyState = 'Disabled';
    }
    if (decision.enable && keyState === 'Disabled') {
      await context.kms.enableKey(keyArn);
      keyState = 'Enabled';
    }
    keys.push({ keyArn, keyState, cancelled });
  }
  if (keys.length > 0 && keys.every((key) => key.keyState === 'Deleted')) {
    // KMS deleted the last key between the check above and the stop: the data is gone all the same.
    throw everyKeyDeleted(subject);
  }

  await context.ledger.record(subject, erasure.erasure, {
    type: 'ErasureCancelled',
    by: decision.by,
    reason: decision.reason,
    keys: keys.map(({ keyArn, keyState }) => ({ keyArn, keyState })),
  });

  const messageIds = await publishOnce(
    {
      kind: 'cancelled',
      execution: erasure.erasure,
      request: closureOf(record, erasure.closureEventId),
      keys: keys.map((key) => ({ keyArn: key.keyArn, fate: key.keyState === 'Deleted' ? 'Deleted' : 'DeletionCancelled', keyState: key.keyState === 'Deleted' ? null : key.keyState, deletionDate: null })),
      cancelledBy: decision.by,
      reason: decision.reason,
    },
    context,
  );
  return { outcome: 'cancelled', erasure: erasure.erasure, keys, messageIds };
}

export interface HoldOutcome {
  outcome: 'held';
  until: string | null;
  /** The erasure the hold cancelled, when one was under way. */
  cancelled: CancelOutcome | null;
}

/**
 * Places a legal hold: any pending deletion of the subject's keys is cancelled, and closures of
 * the subject erase nothing until the hold is released (or its `until` date passes).
 */
export async function placeLegalHold(subject: string, decision: Decision & { until: string | null }, context: OperatorContext): Promise<HoldOutcome> {
  const record = await readIntact(context.ledger, subject);
  if (decision.until !== null && Date.parse(decision.until) <= context.now.getTime()) {
    throw new RangeError(`a hold until ${decision.until} would already have expired`);
  }
  const last = record.erasures.at(-1);
  const cancels = last !== undefined && last.status !== 'completed' && last.status !== 'cancelled';
  // A hold over keys KMS has already destroyed would hold nothing: refused before it is recorded.
  if (cancels) await refuseIfEveryKeyDeleted(subject, last.keys, context.kms);
  await context.ledger.record(subject, null, { type: 'LegalHoldPlaced', by: decision.by, reason: decision.reason, until: decision.until }, { requestId: context.requestId });
  const cancelled =
    cancels
      ? await cancelErasure(subject, { by: decision.by, reason: `legal hold: ${decision.reason}` }, context)
      : null;
  return { outcome: 'held', until: decision.until, cancelled };
}

export interface ReleaseOutcome {
  outcome: 'released';
  released: ('legal-hold' | 'cancellation' | 'failed-attempts')[];
}

/** Releases a subject from a hold or a cancelled or stopped erasure: the next closure erases it. */
export async function releaseSubject(subject: string, decision: Decision, context: Pick<OperatorContext, 'ledger' | 'requestId'>): Promise<ReleaseOutcome> {
  const record = await readIntact(context.ledger, subject);
  const released: ReleaseOutcome['released'] = [];
  if (record.hold) released.push('legal-hold');
  if (record.awaitingRelease) released.push('cancellation');
  if (record.failedAttempts > 0) released.push('failed-attempts');
  if (released.length === 0) throw new NothingToRelease(`subject ${subject} is neither held nor awaiting a release`);
  await context.ledger.record(subject, null, { type: 'Released', by: decision.by, reason: decision.reason }, { requestId: context.requestId });
  return { outcome: 'released', released };
}

async function refuseIfEveryKeyDeleted(subject: string, keys: string[], kms: OperatorContext['kms']): Promise<void> {
  if (keys.length === 0) return;
  for (const keyArn of keys) if ((await kms.describeKey(keyArn)) !== undefined) return;
  throw everyKeyDeleted(subject);
}

function everyKeyDeleted(subject: string): ErasureIrreversible {
  return new ErasureIrreversible(`every key of subject ${subject} is already deleted by KMS: the erasure cannot be undone`);
}

async function readIntact(ledger: Ledger, subject: string): Promise<SubjectRecord> {
  const record = await ledger.read(subject);
  if (!record.chain.intact) {
    throw new LedgerChainBroken(`the ledger of subject ${subject} is broken at entry ${record.chain.brokenAt}: ${record.chain.problem}`);
  }
  return record;
}
