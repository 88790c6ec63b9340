import type { ErasureExecutions } from '../aws/erasure-executions.ts';
import type { NotificationPublisher } from '../aws/notification-publisher.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { ErasureRequest } from './closure-event.ts';
import { publishOnce } from './erasure-reporting.ts';
import { startErasure, type StartOutcome } from './erasure-start.ts';
import type { NotificationConfig } from './settings.ts';

export interface AdmissionContext {
  executions: ErasureExecutions;
  ledger: Ledger;
  publisher: NotificationPublisher;
  config: NotificationConfig;
  now: Date;
}

export interface Admission {
  outcome: StartOutcome;
  executionArn: string | null;
  /** For an erased subject: when, and the certificate that proves it. */
  erasedAt?: string;
  certificateId?: string | null;
  messageIds?: string[];
}

/**
 * What intake does with a valid closure: start the erasure, or find it under way or done, or hold
 * it. A held closure is a person's decision standing in the way of an upstream request, so it is
 * told, to on-call as well as to the erasure topic; "already erased" is answered quietly.
 */
export async function admitClosure(request: ErasureRequest, context: AdmissionContext): Promise<Admission> {
  const start = await startErasure(context.executions, context.ledger, request, context.now);
  switch (start.outcome) {
    case 'started':
    case 'already-in-progress':
      return { outcome: start.outcome, executionArn: start.executionArn };
    case 'already-erased':
      return { outcome: start.outcome, executionArn: start.executionArn, erasedAt: start.erasedAt, certificateId: start.certificateId };
    case 'held': {
      const { by, reason, until } = start.hold;
      const messageIds = await publishOnce(
        { kind: 'held', execution: null, request, because: 'LegalHold', heldBy: by, reason, until, previousErasure: null },
        context,
      );
      return { outcome: start.outcome, executionArn: null, messageIds };
    }
    case 'awaiting-release': {
      const previous = start.previous;
      const messageIds = await publishOnce(
        {
          kind: 'held',
          execution: null,
          request,
          because: 'AwaitingRelease',
          heldBy: 'endReason' in previous && previous.endReason ? previous.endReason : `erasure ${previous.status}`,
          reason: `the subject's last erasure was ${previous.status}; an operator must release the subject before a closure erases it`,
          until: null,
          previousErasure: previous.erasure,
        },
        context,
      );
      return { outcome: start.outcome, executionArn: previous.erasure, messageIds };
    }
  }
}
