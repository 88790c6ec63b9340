import { checkChain, type ChainCheck } from './hash-chain.ts';
import type { LedgerEntry, LedgerEvent } from './ledger-events.ts';

export type ErasureStatus = 'running' | 'completed' | 'cancelled' | 'stopped' | 'timed-out' | 'failed';

/** One erasure (one Step Functions execution) as the ledger tells it. */
export interface ErasureRecord {
  erasure: string;
  executionName: string;
  closureEventId: string;
  startedAt: string;
  status: ErasureStatus;
  endedAt: string | null;
  keys: string[];
  deletionDates: string[];
  verifiedAt: string | null;
  certificateId: string | null;
  /** Why it ended, when it did not complete: an error name, a cancellation's reason. */
  endReason: string | null;
}

export interface LegalHold {
  by: string;
  reason: string;
  until: string | null;
  placedAt: string;
}

/**
 * What a subject's ledger says, folded from its entries in order: the erasures and how each ended,
 * and the operator decisions that still bind (a legal hold, a cancellation awaiting release).
 */
export interface SubjectRecord {
  subject: string;
  entries: LedgerEntry[];
  chain: ChainCheck;
  erasures: ErasureRecord[];
  /** The last completed erasure: the subject is erased, whatever closures come later. */
  erased: ErasureRecord | null;
  /** A hold placed and not released; it binds until released, or until its date has passed. */
  hold: LegalHold | null;
  /** The last erasure was cancelled or stopped and no operator has released the subject since. */
  awaitingRelease: ErasureRecord | null;
  /** Erasures that failed or timed out since the last release. */
  failedAttempts: number;
}

/** The erasures of a subject's entries, without checking the chain (the caller has). */
export function foldErasures(subject: string, entries: LedgerEntry[]): ErasureRecord[] {
  return fold(subject, entries).erasures;
}

export function foldSubject(subject: string, entries: LedgerEntry[]): SubjectRecord {
  return { ...fold(subject, entries), chain: checkChain(entries) };
}

function fold(subject: string, entries: LedgerEntry[]): Omit<SubjectRecord, 'chain'> {
  const erasures = new Map<string, ErasureRecord>();
  let hold: LegalHold | null = null;
  let awaitingRelease: ErasureRecord | null = null;
  let failedAttempts = 0;

  const end = (erasure: ErasureRecord | undefined, status: ErasureStatus, at: string, reason: string | null) => {
    // The first end recorded is the true one: a FAILED status event after NotifyFailed, or an
    // ABORTED one after a cancel, must not overwrite why the erasure ended. A cancellation recorded
    // after the stop it caused is the fuller account of that stop.
    if (!erasure) return;
    const cancelOfAStop = erasure.status === 'stopped' && status === 'cancelled';
    if (erasure.endedAt !== null && !cancelOfAStop) return;
    erasure.status = status;
    erasure.endedAt = at;
    erasure.endReason = reason;
    if (status === 'cancelled' || status === 'stopped') awaitingRelease = erasure;
    if (status === 'failed' || status === 'timed-out') failedAttempts++;
  };

  for (const entry of entries) {
    const event: LedgerEvent = entry.event;
    const erasure = entry.erasure ? erasures.get(entry.erasure) : undefined;
    switch (event.type) {
      case 'ErasureStarted':
        if (entry.erasure && !erasure) {
          erasures.set(entry.erasure, {
            erasure: entry.erasure,
            executionName: event.executionName,
            closureEventId: event.eventId,
            startedAt: entry.recordedAt,
            status: 'running',
            endedAt: null,
            keys: [],
            deletionDates: [],
            verifiedAt: null,
            certificateId: null,
            endReason: null,
          });
        }
        break;
      case 'KeysResolved':
        if (erasure) erasure.keys = event.keys.map((key) => key.keyArn);
        break;
      case 'KeyDeletionScheduled':
        if (erasure && event.deletionDate) erasure.deletionDates.push(event.deletionDate);
        break;
      case 'DeletionVerified':
        // KMS has destroyed every key: the erasure is done and irreversible, whether or not the
        // certificate that follows is issued (a missing certificate shows as certificateId null).
        if (erasure) erasure.verifiedAt = event.checkedAt;
        end(erasure, 'completed', event.checkedAt, null);
        break;
      case 'CertificateIssued':
        if (erasure) erasure.certificateId = event.certificateId;
        break;
      case 'ErasureCancelled':
        end(erasure, 'cancelled', entry.recordedAt, `cancelled by ${event.by}: ${event.reason}`);
        break;
      case 'ErasureFailed':
        end(erasure, 'failed', entry.recordedAt, `${event.error}: ${event.message}`);
        break;
      case 'ExecutionEnded':
        end(
          erasure,
          event.status === 'ABORTED' ? 'stopped' : event.status === 'TIMED_OUT' ? 'timed-out' : 'failed',
          event.stoppedAt,
          event.error ?? event.status,
        );
        break;
      case 'LegalHoldPlaced':
        hold = { by: event.by, reason: event.reason, until: event.until, placedAt: entry.recordedAt };
        break;
      case 'Released':
        hold = null;
        awaitingRelease = null;
        failedAttempts = 0;
        break;
      case 'ClosureReceived':
      case 'ClosureDeclined':
      case 'ClosureRejected':
      case 'KeyDisabled':
      case 'NotificationPublished':
      case 'KeyUseAlerted':
      case 'KeyDeletedByKms':
        break;
    }
  }

  const all = [...erasures.values()];
  return {
    subject,
    entries,
    erasures: all,
    erased: all.findLast((erasure) => erasure.status === 'completed') ?? null,
    hold,
    awaitingRelease,
    failedAttempts,
  };
}

/** A hold binds until released, or until its `until` date has passed. */
export function holdBinds(hold: LegalHold | null, now: Date): hold is LegalHold {
  return hold !== null && (hold.until === null || Date.parse(hold.until) > now.getTime());
}

/** The erasure under way, if the ledger knows of one that has not ended. */
export function runningErasure(record: SubjectRecord): ErasureRecord | undefined {
  return record.erasures.findLast((erasure) => erasure.status === 'running');
}

/**
 * The closure behind an erasure, as the ledger knows it (the ledger never holds the subject id): what
 * a notification about the erasure names. A closure the ledger never received reads as unknown.
 */
export function closureOf(record: SubjectRecord, eventId: string): { subjectFingerprint: string; eventId: string; source: string; closedAt: string } {
  const received = record.entries.find((entry) => entry.event.type === 'ClosureReceived' && entry.event.eventId === eventId)?.event;
  const closure = received?.type === 'ClosureReceived' ? received : undefined;
  return { subjectFingerprint: record.subject, eventId, source: closure?.source ?? 'unknown', closedAt: closure?.closedAt ?? '' };
}
