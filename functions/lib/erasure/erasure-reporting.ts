import type { NotificationPublisher } from '../aws/notification-publisher.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerEntry } from '../ledger/ledger-events.ts';
import { composeCertificate, signCertificate, type CertificateSigner, type SignedCertificate } from './certificate.ts';
import type { ErasureRequest } from './closure-event.ts';
import type { ScheduledKey } from './deletion-scheduling.ts';
import type { Verification } from './deletion-verification.ts';
import { LedgerChainBroken } from './errors.ts';
import type { NotificationKind } from './notification-kinds.ts';
import { composeNotifications, describeFailure, type Failure, type NotificationFacts } from './notifications.ts';
import type { NotificationConfig } from './settings.ts';

/** What the state machine's Notify* states hand the notify task (statemachines/erasure.asl.json). */
export type ErasureReport = { execution: string; request: ErasureRequest } & (
  | { kind: 'scheduled'; keys: ScheduledKey[] }
  | { kind: 'completed'; keys: ScheduledKey[]; verification: Verification }
  | { kind: 'cancelled'; keys: ScheduledKey[]; verification: Verification }
  | { kind: 'failed'; failure: Failure }
);

export interface ReportingContext {
  ledger: Ledger;
  publisher: NotificationPublisher;
  signer: CertificateSigner;
  config: NotificationConfig;
  /** The role that disables and schedules the keys: who performed the sanitization, for the certificate. */
  performedBy: string;
  now: Date;
}

export interface ReportOutcome {
  kind: NotificationKind;
  messageIds: string[];
  certificateId?: string;
}

/**
 * Records an erasure's outcome in the ledger and tells the world: a completed erasure gets its
 * signed certificate (stored in the ledger before anyone is told of it), a cancelled one is
 * recorded as cancelled (keeping the operator's own words if an operator cancelled it), a failed
 * one as failed. Each notification is published once: a retried task skips what the ledger shows
 * published already.
 */
export async function reportErasure(report: ErasureReport, context: ReportingContext): Promise<ReportOutcome> {
  const { ledger } = context;
  const subject = report.request.subjectFingerprint;
  const base = { execution: report.execution, request: report.request };
  let facts: NotificationFacts;

  switch (report.kind) {
    case 'scheduled':
      facts = { ...base, kind: 'scheduled', keys: report.keys };
      break;
    case 'completed': {
      const issued = await issueCertificate(report.execution, subject, context);
      const certificateId = issued.certificate.certificate.certificateId;
      facts = { ...base, kind: 'completed', verification: report.verification, certificate: issued.certificate };
      // The ledger was read a moment ago to compose the certificate: what it showed published then
      // is what a read now would show, bar a concurrent retry, which a read now could race as well.
      const messageIds = await publishOnce(facts, context, issued.entries);
      return { kind: report.kind, messageIds, certificateId };
    }
    case 'cancelled': {
      const recorded = await ledger.record(subject, report.execution, {
        type: 'ErasureCancelled',
        by: 'unknown: found by CheckDeletion',
        reason: 'a key is no longer pending deletion: its deletion was cancelled outside the pipeline',
        keys: report.verification.keys.map((key) => ({ keyArn: key.keyArn, keyState: key.keyState })),
      });
      const cancellation = recorded.event.type === 'ErasureCancelled' ? recorded.event : undefined;
      facts = {
        ...base,
        kind: 'cancelled',
        keys: report.verification.keys,
        cancelledBy: cancellation?.by ?? 'unknown',
        reason: cancellation?.reason ?? '',
        unexplained: true,
      };
      break;
    }
    case 'failed':
      facts = { ...base, kind: 'failed', failure: report.failure };
      break;
  }

  const messageIds = await publishOnce(facts, context);
  if (report.kind === 'failed') {
    // Recorded after on-call is told: a failure to record must not also silence the page.
    const failure = describeFailure(report.failure);
    await ledger.record(subject, report.execution, { type: 'ErasureFailed', error: failure.error, message: failure.message });
  }
  return { kind: report.kind, messageIds };
}

/** Publishes the facts' notifications, skipping any the ledger shows published already; records each. */
export async function publishOnce(
  facts: NotificationFacts,
  context: Pick<ReportingContext, 'ledger' | 'publisher' | 'config' | 'now'>,
  entries?: LedgerEntry[],
): Promise<string[]> {
  const subject = facts.request.subjectFingerprint;
  const published = (entries ?? (await context.ledger.read(subject)).entries).flatMap((entry) =>
    entry.erasure === facts.execution && entry.event.type === 'NotificationPublished' && (facts.execution !== null || entry.event.closureEventId === facts.request.eventId)
      ? [entry.event]
      : [],
  );
  const messageIds: string[] = [];
  for (const notification of composeNotifications(facts, context.config, context.now)) {
    const already = published.find((event) => event.kind === notification.kind && event.topicArn === notification.topicArn);
    if (already) {
      messageIds.push(already.messageId);
      continue;
    }
    const messageId = await context.publisher.publish(notification);
    messageIds.push(messageId);
    await context.ledger.record(subject, facts.execution, {
      type: 'NotificationPublished',
      kind: notification.kind,
      topicArn: notification.topicArn,
      messageId,
      closureEventId: facts.request.eventId,
    });
  }
  return messageIds;
}

/**
 * The erasure's signed certificate: the one in the ledger if a previous attempt issued it, or a
 * new one composed from the ledger, signed with KMS, and recorded before it is returned.
 */
async function issueCertificate(erasure: string, subject: string, context: ReportingContext): Promise<{ certificate: SignedCertificate; entries: LedgerEntry[] }> {
  const record = await context.ledger.read(subject);
  const issued = record.entries.find((entry) => entry.erasure === erasure && entry.event.type === 'CertificateIssued');
  if (issued?.event.type === 'CertificateIssued') return { certificate: issued.event.certificate as SignedCertificate, entries: record.entries };
  if (!record.chain.intact) {
    // A certificate resting on a tampered chain would vouch for whatever was changed.
    throw new LedgerChainBroken(`the ledger of subject ${subject} is broken at entry ${record.chain.brokenAt}: ${record.chain.problem}`);
  }
  const certificate = composeCertificate(record.entries, {
    erasure,
    tool: { name: 'crypto-erasure', version: context.config.toolVersion },
    performedBy: context.performedBy,
    issuedAt: context.now,
  });
  const signed = await signCertificate(context.signer, certificate);
  const { entry, chain } = await context.ledger.recordInChain(subject, erasure, { type: 'CertificateIssued', certificateId: certificate.certificateId, certificate: signed });
  // A concurrent retry may have recorded its own first: the ledger's is the one, and the chain the
  // ledger read to find it holds whatever that retry published since.
  return { certificate: entry.event.type === 'CertificateIssued' ? (entry.event.certificate as SignedCertificate) : signed, entries: chain };
}
