import type { ErasureRequest } from './closure-event.ts';
import { issueCertificate, type ErasureCertificate } from './certificate.ts';
import type { ScheduledKey } from './deletion-scheduling.ts';
import type { Verification } from './deletion-verification.ts';
import type { NotificationConfig } from './settings.ts';

/**
 * What the erasure tells the world, and to whom. Erasure notifications (scheduled, completed,
 * cancelled, failed) go to the erasure topic for upstream systems and auditors; a failure also goes
 * to on-call. Messages name the subject by fingerprint only: upstream systems can compute it.
 */
export type NotificationKind = 'scheduled' | 'completed' | 'cancelled' | 'failed';

export interface ErasureRequestFacts {
  /** The Step Functions execution ARN: the erasure's identity. */
  execution: string;
  request: ErasureRequest;
}

export interface Failure {
  Error: string;
  Cause?: string | null;
}

export type NotificationFacts = ErasureRequestFacts &
  (
    | { kind: 'scheduled'; keys: ScheduledKey[] }
    | { kind: 'completed'; keys: ScheduledKey[]; verification: Verification }
    | { kind: 'cancelled'; keys: ScheduledKey[]; verification: Verification }
    | { kind: 'failed'; failure: Failure }
  );

export interface Notification {
  topicArn: string;
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

export function composeNotifications(facts: NotificationFacts, config: NotificationConfig, now: Date): Notification[] {
  const subject = facts.request.subjectFingerprint;
  const base = {
    kind: facts.kind,
    erasure: facts.execution,
    subject,
    closureEventId: facts.request.eventId,
    closureSource: facts.request.source,
    closedAt: facts.request.closedAt,
    at: now.toISOString(),
  };
  const attributes = { kind: facts.kind, subject };
  const short = subject.slice(0, 12);

  switch (facts.kind) {
    case 'scheduled': {
      const dates = facts.keys.map((key) => key.deletionDate).filter((date): date is string => date !== null).sort();
      return [
        {
          topicArn: config.erasureTopicArn,
          subject: `Erasure scheduled for subject ${short}`,
          message: JSON.stringify({ ...base, deletionDate: dates.at(-1) ?? null, keys: facts.keys }),
          attributes,
        },
      ];
    }
    case 'completed': {
      const certificate: ErasureCertificate = issueCertificate(facts, facts.keys, facts.verification, {
        name: 'crypto-erasure',
        version: config.toolVersion,
      });
      return [
        {
          topicArn: config.erasureTopicArn,
          subject: `Erasure completed for subject ${short}`,
          message: JSON.stringify({ ...base, keys: facts.verification.keys, certificate }),
          attributes,
        },
      ];
    }
    case 'cancelled':
      return [
        {
          topicArn: config.erasureTopicArn,
          subject: `Erasure cancelled for subject ${short}`,
          message: JSON.stringify({ ...base, keys: facts.verification.keys }),
          attributes,
        },
      ];
    case 'failed': {
      const failure = describeFailure(facts.failure);
      const message = JSON.stringify({ ...base, error: failure.error, message: failure.message });
      return [
        { topicArn: config.erasureTopicArn, subject: `Erasure failed for subject ${short}`, message, attributes },
        {
          topicArn: config.oncallTopicArn,
          subject: `ERASURE FAILED: ${failure.error} (subject ${short})`.slice(0, 100),
          message,
          attributes: { ...attributes, error: failure.error },
        },
      ];
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
