import type { AlertStateTable } from '../aws/alert-state-table.ts';
import type { DeadLetterQueue } from '../aws/dead-letter-queue.ts';
import type { ClosureEventInvalid } from '../erasure/errors.ts';
import { SUBJECT_ID_PATTERN, fingerprintSubject } from '../erasure/subject.ts';
import type { Ledger } from '../ledger/ledger.ts';

export interface RejectionContext {
  deadLetters: DeadLetterQueue;
  alertState: AlertStateTable;
  ledger: Ledger;
  now: Date;
}

export interface Rejection {
  outcome: 'rejected';
  eventId: string;
  reason: string;
  /** False for a redelivery of an event already dead-lettered: it is not sent (nor paged) twice. */
  deadLettered: boolean;
  subject: string | null;
}

// Long enough to outlast EventBridge's redelivery (24 hours) and a replay the next day.
const REMEMBER_REJECTIONS_MS = 7 * 86_400_000;

/**
 * A closure that breaks the contract is refused once, loudly and durably: into the dead-letter
 * queue with its event id and the fields at fault (never their values), and into the subject's
 * ledger when the event names a subject at all. It is not retried (it would fail the same way),
 * and a redelivery of the same event is not dead-lettered again, so it pages once.
 */
export async function rejectClosure(event: unknown, refusal: ClosureEventInvalid, context: RejectionContext): Promise<Rejection> {
  const envelope = (typeof event === 'object' && event !== null ? event : {}) as { id?: unknown; detail?: { subjectId?: unknown } };
  const eventId = typeof envelope.id === 'string' && envelope.id.length > 0 ? envelope.id : 'unknown';
  const subjectId = envelope.detail?.subjectId;
  const subject = typeof subjectId === 'string' && SUBJECT_ID_PATTERN.test(subjectId) ? fingerprintSubject(subjectId) : null;

  const first = eventId === 'unknown' || (await context.alertState.firstTime(`rejected-closure#${eventId}`, context.now, REMEMBER_REJECTIONS_MS));
  if (first) {
    await context.deadLetters.send(
      { eventId, error: refusal.name, reason: refusal.message, subject, rejectedAt: context.now.toISOString() },
      { ERROR_CODE: refusal.name, ERROR_MESSAGE: refusal.message.slice(0, 256), EVENT_ID: eventId },
    );
  }
  if (subject) await context.ledger.record(subject, null, { type: 'ClosureRejected', eventId, reason: refusal.message });
  return { outcome: 'rejected', eventId, reason: refusal.message, deadLettered: first, subject };
}
