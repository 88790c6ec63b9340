import type { ErasureRequest } from './closure-event.ts';
import type { SignedCertificate } from './certificate.ts';
import type { ScheduledKey } from './deletion-scheduling.ts';
import type { KeyCheck, Verification } from './deletion-verification.ts';
import type { ErasureNotificationKind, NotificationKind } from './notification-kinds.ts';
import type { NotificationConfig } from './settings.ts';

/**
 * What the erasure tells the world, and to whom, in the versioned shape of
 * schemas/erasure-notification.schema.json. The erasure topic carries every kind, for upstream
 * systems and auditors; on-call also gets what needs a person (held, failed, stopped). Messages
 * name the subject by fingerprint only: upstream systems can compute it.
 */
export const NOTIFICATION_SCHEMA_VERSION = '1';

export type Severity = 'info' | 'warning' | 'critical';

const SEVERITY: Record<ErasureNotificationKind, Severity> = {
  scheduled: 'info',
  completed: 'info',
  cancelled: 'warning',
  held: 'warning',
  failed: 'critical',
  stopped: 'critical',
};

/** What a notification tells of the closure behind it: never the subject id, which it must not carry. */
export type ClosureFacts = Pick<ErasureRequest, 'subjectFingerprint' | 'eventId' | 'source' | 'closedAt'>;

export interface ErasureRequestFacts {
  /** The Step Functions execution ARN: the erasure's identity; null when no erasure started. */
  execution: string | null;
  request: ClosureFacts;
}

export interface Failure {
  Error: string;
  Cause?: string | null;
}

export interface KeyStateReport {
  keyArn: string;
  keyState: string;
  deletionDate: string | null;
}

export type NotificationFacts = ErasureRequestFacts &
  (
    | { kind: 'scheduled'; keys: ScheduledKey[] }
    | { kind: 'completed'; verification: Verification; certificate: SignedCertificate }
    | {
        kind: 'cancelled';
        keys: KeyCheck[];
        cancelledBy: string;
        reason: string;
        /** Found by the pipeline's own check, not decided by an operator: nobody knows why, so on-call is paged. */
        unexplained?: boolean;
      }
    | { kind: 'held'; because: 'LegalHold' | 'AwaitingRelease'; heldBy: string; reason: string; until: string | null; previousErasure: string | null }
    | { kind: 'failed'; failure: Failure }
    | { kind: 'stopped'; status: 'ABORTED' | 'TIMED_OUT' | 'FAILED'; error: string | null; cause: string | null; keys: KeyStateReport[]; runbook: string[] }
  );

export interface Notification {
  kind: NotificationKind;
  topicArn: string;
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

export function composeNotifications(facts: NotificationFacts, config: NotificationConfig, now: Date): Notification[] {
  const subject = facts.request.subjectFingerprint;
  const severity = facts.kind === 'cancelled' && facts.unexplained ? 'critical' : SEVERITY[facts.kind];
  const base = {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    eventType: facts.kind,
    severity,
    erasure: facts.execution,
    subject,
    closureEventId: facts.request.eventId,
    closureSource: facts.request.source,
    closedAt: facts.request.closedAt,
    at: now.toISOString(),
  };
  // Message attributes let subscribers filter: only `completed` for the audit archive, only
  // `critical` for the pager.
  const attributes = { eventType: facts.kind, severity, schemaVersion: NOTIFICATION_SCHEMA_VERSION, subject };
  const short = subject.slice(0, 12);
  const toErasureTopic = (title: string, body: object): Notification => ({
    kind: facts.kind,
    topicArn: config.erasureTopicArn,
    subject: title,
    message: JSON.stringify({ ...base, ...body }),
    attributes,
  });
  const alsoToOnCall = (notification: Notification, title: string, extra: Record<string, string> = {}): Notification[] => [
    notification,
    // SNS e-mail subjects stop at 100 characters: the one line a tired person reads first.
    { ...notification, topicArn: config.oncallTopicArn, subject: title.slice(0, 100), attributes: { ...attributes, ...extra } },
  ];

  switch (facts.kind) {
    case 'scheduled': {
      const dates = facts.keys.map((key) => key.deletionDate).filter((date): date is string => date !== null).sort();
      return [toErasureTopic(`Erasure scheduled for subject ${short}`, { deletionDate: dates.at(-1) ?? null, keys: facts.keys })];
    }
    case 'completed':
      return [
        toErasureTopic(`Erasure completed for subject ${short}`, {
          keys: facts.verification.keys,
          certificateId: facts.certificate.certificate.certificateId,
          certificate: facts.certificate,
        }),
      ];
    case 'cancelled': {
      const notification = toErasureTopic(`Erasure cancelled for subject ${short}`, { keys: facts.keys, cancelledBy: facts.cancelledBy, reason: facts.reason });
      if (!facts.unexplained) return [notification];
      // A deletion cancelled behind the pipeline's back (a replica of a multi-Region key, say): the
      // data may still decrypt, and no certificate will be issued.
      const kept = facts.keys.filter((key) => key.fate === 'DeletionCancelled').length;
      return alsoToOnCall(notification, `ERASURE CANCELLED OUTSIDE THE PIPELINE: ${kept} key${kept === 1 ? '' : 's'} kept (subject ${short})`, { error: 'DeletionCancelled' });
    }
    case 'held': {
      const why = facts.because === 'LegalHold' ? 'under legal hold' : 'awaiting an operator release';
      const notification = toErasureTopic(`Erasure held for subject ${short}`, {
        because: facts.because,
        heldBy: facts.heldBy,
        reason: facts.reason,
        until: facts.until,
        previousErasure: facts.previousErasure,
      });
      return alsoToOnCall(notification, `ERASURE HELD: closure of subject ${short} not acted on (${why})`);
    }
    case 'failed': {
      const failure = describeFailure(facts.failure);
      const notification = toErasureTopic(`Erasure failed for subject ${short}`, { error: failure.error, message: failure.message });
      return alsoToOnCall(notification, `ERASURE FAILED: ${failure.error} (subject ${short})`, { error: failure.error });
    }
    case 'stopped': {
      const notification = toErasureTopic(`Erasure ${facts.status.toLowerCase().replace('_', ' ')} for subject ${short}`, {
        status: facts.status,
        error: facts.error,
        cause: facts.cause,
        keys: facts.keys,
        runbook: facts.runbook,
      });
      return alsoToOnCall(notification, `ERASURE ${facts.status.replace('_', ' ')}: execution ended outside the pipeline (subject ${short})`, { error: facts.status });
    }
  }
}

/** Step Functions hands a Lambda failure over as Error plus a Cause that is itself JSON ({errorType, errorMessage, trace}). */
export function describeFailure(failure: Failure): { error: string; message: string } {
  const cause = failure.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return { error: failure.Error, message: parsed.errorMessage };
  } catch {
    // Not JSON: a Cause written by a state, not by Lambda.
  }
  return { error: failure.Error, message: cause };
}
