import type { ErasureExecutions } from '../aws/erasure-executions.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { holdBinds, runningErasure, type ErasureRecord, type LegalHold } from '../ledger/subject-record.ts';
import type { ErasureRequest } from './closure-event.ts';
import { ErasureAttemptsExhausted, LedgerChainBroken, SubjectUnderLegalHold } from './errors.ts';
import { executionName } from './subject.ts';

export type StartOutcome = 'started' | 'already-in-progress' | 'already-erased' | 'held' | 'awaiting-release';

export type ErasureStart =
  | { outcome: 'started' | 'already-in-progress'; executionName: string; executionArn: string }
  | { outcome: 'already-erased'; executionArn: string; erasedAt: string; certificateId: string | null }
  | { outcome: 'held'; hold: LegalHold }
  | { outcome: 'awaiting-release'; previous: ErasureRecord | { erasure: string; status: 'stopped' } };

// A subject whose erasure failed gets a fresh attempt under a new name; a few attempts cover every
// real retry, and more means something is broken that a person must look at.
export const MAX_ATTEMPTS = 5;

/**
 * Decides what a closure does, from the subject's ledger first and Step Functions second:
 * - an erased subject is answered "already erased", with the date and certificate, at any age;
 * - a subject under legal hold is not erased;
 * - after a cancelled or stopped erasure, nothing starts until an operator releases the subject;
 * - otherwise the subject's erasure is started, or found already under way: EventBridge delivers at
 *   least once and operators replay events, so a duplicate starts nothing new.
 * Every closure is recorded, and so is the decision. The execution name derives from the subject's
 * fingerprint, never from the id.
 */
export async function startErasure(executions: ErasureExecutions, ledger: Ledger, request: ErasureRequest, now: Date): Promise<ErasureStart> {
  const subject = request.subjectFingerprint;
  const record = await ledger.read(subject);
  if (!record.chain.intact) {
    throw new LedgerChainBroken(`the ledger of subject ${subject} is broken at entry ${record.chain.brokenAt}: ${record.chain.problem}`);
  }
  await ledger.record(subject, null, { type: 'ClosureReceived', eventId: request.eventId, source: request.source, closedAt: request.closedAt });
  const decline = (because: 'AlreadyErased' | 'LegalHold' | 'AwaitingRelease') =>
    ledger.record(subject, null, { type: 'ClosureDeclined', eventId: request.eventId, because });

  if (record.erased) {
    await decline('AlreadyErased');
    return { outcome: 'already-erased', executionArn: record.erased.erasure, erasedAt: record.erased.endedAt ?? '', certificateId: record.erased.certificateId };
  }
  if (holdBinds(record.hold, now)) {
    await decline('LegalHold');
    return { outcome: 'held', hold: record.hold };
  }
  if (record.awaitingRelease) {
    await decline('AwaitingRelease');
    return { outcome: 'awaiting-release', previous: record.awaitingRelease };
  }
  if (record.failedAttempts >= MAX_ATTEMPTS) {
    throw new ErasureAttemptsExhausted(`subject ${subject}: ${MAX_ATTEMPTS} erasure attempts already failed; investigate, then release the subject to try again`);
  }

  // The ledger numbers the subject's erasures; a running one is found again under its own name.
  const running = runningErasure(record);
  const first = running ? record.erasures.indexOf(running) + 1 : record.erasures.length + 1;
  const input = JSON.stringify({ request });
  for (let attempt = first; attempt < first + MAX_ATTEMPTS; attempt++) {
    const name = executionName(subject, attempt);
    const start = await executions.start(name, input);
    const started = async (outcome: 'started' | 'already-in-progress') => {
      // Recorded after the start, and idempotently: a retried intake records the same start once.
      await ledger.record(subject, start.executionArn, { type: 'ErasureStarted', eventId: request.eventId, executionName: name });
      return { outcome, executionName: name, executionArn: start.executionArn };
    };
    if (start.started) return started('started');

    switch (await executions.status(start.executionArn)) {
      case 'RUNNING':
      case 'PENDING_REDRIVE':
        return started('already-in-progress');
      case 'ABORTED':
        // Stopped by an operator, and the ledger has not heard yet: that decision stands until a release.
        await decline('AwaitingRelease');
        return { outcome: 'awaiting-release', previous: { erasure: start.executionArn, status: 'stopped' } };
      case 'SUCCEEDED':
      case 'FAILED':
      case 'TIMED_OUT':
        // Ended, and the ledger says it neither erased the subject nor binds it: the name is spent.
        continue;
    }
  }
  throw new ErasureAttemptsExhausted(`subject ${subject}: no free execution name after ${MAX_ATTEMPTS} attempts; investigate before replaying`);
}

/**
 * The first step of every execution: makes sure the ledger knows of the closure and of this
 * erasure (intake records both, but an execution may also be started by hand or redriven), and
 * refuses, before any key is touched, a subject that a legal hold protects.
 */
export async function recordExecutionStart(ledger: Ledger, request: ErasureRequest, execution: string, now: Date): Promise<void> {
  const subject = request.subjectFingerprint;
  const record = await ledger.read(subject);
  if (!record.chain.intact) {
    throw new LedgerChainBroken(`the ledger of subject ${subject} is broken at entry ${record.chain.brokenAt}: ${record.chain.problem}`);
  }
  if (holdBinds(record.hold, now)) {
    throw new SubjectUnderLegalHold(`subject ${subject} is under a legal hold placed by ${record.hold.by} on ${record.hold.placedAt}; release it before erasing`);
  }
  await ledger.record(subject, null, { type: 'ClosureReceived', eventId: request.eventId, source: request.source, closedAt: request.closedAt });
  await ledger.record(subject, execution, { type: 'ErasureStarted', eventId: request.eventId, executionName: execution.split(':').at(-1) ?? execution });
}
