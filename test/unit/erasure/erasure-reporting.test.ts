import { describe, expect, it } from 'vitest';
import type { SignedCertificate } from '../../../functions/lib/erasure/certificate.ts';
import type { Verification } from '../../../functions/lib/erasure/deletion-verification.ts';
import { publishOnce, reportErasure, type ReportingContext } from '../../../functions/lib/erasure/erasure-reporting.ts';
import type { Notification } from '../../../functions/lib/erasure/notifications.ts';
import { erasureLedger } from '../../../functions/lib/ledger/ledger.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { ERASURE_TOPIC_ARN, EXECUTION_ARN, ONCALL_TOPIC_ARN, erasureRequestFor, functionEnvironment, notificationConfig } from '../../support/settings.ts';

const request = erasureRequestFor('user-1');
const subject = request.subjectFingerprint;
const execution = EXECUTION_ARN;
const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/k-1';
const NOW = new Date('2026-12-21T10:00:00Z');
const SIGNING_KEY_ARN = functionEnvironment.CERTIFICATE_SIGNING_KEY_ARN!;
const ERASER_ROLE_ARN = functionEnvironment.ERASER_ROLE_ARN!;

const deleted: Verification = { status: 'Deleted', checkedAt: NOW.toISOString(), nextCheckAt: null, recheckInSeconds: null, keys: [{ keyArn, fate: 'Deleted', keyState: null, deletionDate: null }] };
const cancelled: Verification = { ...deleted, status: 'Cancelled', keys: [{ keyArn, fate: 'DeletionCancelled', keyState: 'Disabled', deletionDate: null }] };

/** SNS and KMS Sign as the reporting sees them: what was published, what was signed. */
function reportingContext(ledger: ReturnType<typeof ledgerDouble>): ReportingContext & { published: Notification[]; signed: Buffer[] } {
  const published: Notification[] = [];
  const signed: Buffer[] = [];
  return {
    published,
    signed,
    ledger,
    publisher: {
      async publish(notification) {
        published.push(notification);
        return `m-${published.length}`;
      },
    },
    signer: {
      async sign(digest) {
        signed.push(digest);
        return { keyArn: SIGNING_KEY_ARN, signature: Buffer.from('3006020101020101', 'hex') };
      },
    },
    config: notificationConfig,
    performedBy: ERASER_ROLE_ARN,
    now: NOW,
  };
}

/** The ledger of an erasure whose key KMS has deleted, verified: what a certificate is composed from. */
async function recordVerifiedErasure(ledger: ReturnType<typeof ledgerDouble>, erasure = execution, eventId = request.eventId): Promise<void> {
  await ledger.record(subject, null, { type: 'ClosureReceived', eventId, source: request.source, closedAt: request.closedAt });
  await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId, executionName: erasure.split(':').at(-1)! });
  await ledger.record(subject, erasure, { type: 'KeysResolved', keys: [{ keyArn, keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
  await ledger.record(subject, erasure, { type: 'DeletionVerified', checkedAt: NOW.toISOString(), keys: [{ keyArn, verifiedDeletedAt: NOW.toISOString() }] });
}

const events = async (ledger: ReturnType<typeof ledgerDouble>) => (await ledger.read(subject)).entries.map((entry) => entry.event);
const message = (notification: Notification | undefined) => JSON.parse(notification?.message ?? '{}');

describe('reportErasure', () => {
  it('announces a scheduled erasure on the erasure topic and records the notification', async () => {
    const context = reportingContext(ledgerDouble());

    const outcome = await reportErasure({ kind: 'scheduled', execution, request, keys: [] }, context);

    expect(outcome).toEqual({ kind: 'scheduled', messageIds: ['m-1'] });
    expect(context.published.map((notification) => [notification.topicArn, notification.kind])).toEqual([[ERASURE_TOPIC_ARN, 'scheduled']]);
    expect(await events(context.ledger as ReturnType<typeof ledgerDouble>)).toEqual([
      { type: 'NotificationPublished', kind: 'scheduled', topicArn: ERASURE_TOPIC_ARN, messageId: 'm-1', closureEventId: request.eventId },
    ]);
  });

  describe('a completed erasure', () => {
    it('gets a certificate signed by this tool, stored in the ledger before anyone is told of it', async () => {
      const ledger = ledgerDouble();
      await recordVerifiedErasure(ledger);
      const context = reportingContext(ledger);

      const outcome = await reportErasure({ kind: 'completed', execution, request, keys: [], verification: deleted }, context);

      const issued = (await events(ledger)).find((event) => event.type === 'CertificateIssued');
      expect(outcome).toEqual({ kind: 'completed', messageIds: ['m-1'], certificateId: issued?.type === 'CertificateIssued' ? issued.certificateId : 'none' });
      expect((await events(ledger)).slice(-2).map((event) => event.type)).toEqual(['CertificateIssued', 'NotificationPublished']);
      const certificate = message(context.published[0]).certificate as SignedCertificate;
      expect(certificate.certificate).toMatchObject({ erasure: execution, tool: { name: 'crypto-erasure', version: notificationConfig.toolVersion }, performedBy: ERASER_ROLE_ARN });
      expect(certificate.signature).toMatchObject({ keyArn: SIGNING_KEY_ARN });
      expect(context.signed).toHaveLength(1);
    });

    it('reads the ledger once to certify and announce it', async () => {
      const ledger = ledgerDouble();
      await recordVerifiedErasure(ledger);
      const read = ledger.table.entries.bind(ledger.table);
      let reads = 0;
      ledger.table.entries = async (subjectToRead) => {
        reads += 1;
        return read(subjectToRead);
      };

      await reportErasure({ kind: 'completed', execution, request, keys: [], verification: deleted }, reportingContext(ledger));

      expect(reads).toBe(1);
    });

    it('reuses the certificate already issued when the task is retried: signed once, published once', async () => {
      const ledger = ledgerDouble();
      await recordVerifiedErasure(ledger);
      const context = reportingContext(ledger);
      const report = { kind: 'completed' as const, execution, request, keys: [], verification: deleted };

      const first = await reportErasure(report, context);
      const again = await reportErasure(report, { ...context, ledger: erasureLedger(ledger.table, () => NOW) });

      expect(again).toEqual(first);
      expect(context.signed).toHaveLength(1);
      expect(context.published).toHaveLength(1);
    });

    // The retry has read the ledger and waits on KMS Sign while the first attempt certifies and
    // announces the erasure: right after what the retry read, or after another entry came between.
    it.each([
      ['which certifies and announces while the retry signs', false],
      ['other entries having come between', true],
    ])('publishes once when a retried task overlaps the first attempt, %s', async (_, entryBetween) => {
      const ledger = ledgerDouble();
      await recordVerifiedErasure(ledger);
      const context = reportingContext(ledger);
      let firstAttemptDone = () => {};
      const firstAttemptFinished = new Promise<void>((resolve) => (firstAttemptDone = resolve));
      const report = { kind: 'completed' as const, execution, request, keys: [], verification: deleted };
      const signer = context.signer;
      const retry = reportErasure(report, {
        ...context,
        ledger: erasureLedger(ledger.table, () => NOW),
        signer: { sign: async (digest) => (await firstAttemptFinished, signer.sign(digest)) },
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (entryBetween) await ledger.record(subject, execution, { type: 'KeyDeletedByKms', keyArn, deletedAt: NOW.toISOString(), eventId: 'kms-event-1' });
      const first = await reportErasure(report, { ...context, ledger: erasureLedger(ledger.table, () => NOW) });
      firstAttemptDone();

      await expect(retry).resolves.toEqual(first);
      expect(context.published).toHaveLength(1);
    });

    it("gets a certificate of its own, not the one of the subject's earlier erasure", async () => {
      const ledger = ledgerDouble();
      const earlier = `${execution}-earlier`;
      await recordVerifiedErasure(ledger, earlier, 'event-0');
      const context = reportingContext(ledger);
      const previous = await reportErasure({ kind: 'completed', execution: earlier, request: { ...request, eventId: 'event-0' }, keys: [], verification: deleted }, context);
      await recordVerifiedErasure(ledger);

      const outcome = await reportErasure({ kind: 'completed', execution, request, keys: [], verification: deleted }, context);

      expect(outcome.certificateId).not.toBe(previous.certificateId);
      expect(context.signed).toHaveLength(2);
      expect(context.published.map((notification) => message(notification).certificate.certificate.erasure)).toEqual([earlier, execution]);
    });

    it('gets no certificate from a ledger whose chain was edited: LedgerChainBroken, nothing signed or published', async () => {
      const ledger = ledgerDouble();
      await recordVerifiedErasure(ledger);
      const stored = ledger.table.rows.get(subject)![2]!;
      (stored.event as { keys: { keyState: string }[] }).keys[0]!.keyState = 'Disabled';
      const context = reportingContext(ledger);

      const failure = reportErasure({ kind: 'completed', execution, request, keys: [], verification: deleted }, context);

      await expect(failure).rejects.toMatchObject({ name: 'LedgerChainBroken', message: expect.stringMatching(new RegExp(`^the ledger of subject ${subject} is broken at entry 3: .+`)) });
      expect(context.signed).toHaveLength(0);
      expect(context.published).toHaveLength(0);
    });
  });

  describe('an erasure cancelled outside the pipeline', () => {
    it('is recorded as cancelled by nobody known, and pages on-call with what the check found', async () => {
      const ledger = ledgerDouble();
      const context = reportingContext(ledger);

      const outcome = await reportErasure({ kind: 'cancelled', execution, request, keys: [], verification: cancelled }, context);

      expect(outcome).toEqual({ kind: 'cancelled', messageIds: ['m-1', 'm-2'] });
      expect((await events(ledger))[0]).toEqual({
        type: 'ErasureCancelled',
        by: 'unknown: found by CheckDeletion',
        reason: 'a key is no longer pending deletion: its deletion was cancelled outside the pipeline',
        keys: [{ keyArn, keyState: 'Disabled' }],
      });
      expect(context.published.map((notification) => [notification.topicArn, notification.attributes.severity])).toEqual([
        [ERASURE_TOPIC_ARN, 'critical'],
        [ONCALL_TOPIC_ARN, 'critical'],
      ]);
      expect(message(context.published[0])).toMatchObject({
        cancelledBy: 'unknown: found by CheckDeletion',
        reason: 'a key is no longer pending deletion: its deletion was cancelled outside the pipeline',
        keys: cancelled.keys,
      });
    });

    it("keeps an operator's own words when the operator's cancellation was recorded first", async () => {
      const ledger = ledgerDouble();
      await ledger.record(subject, execution, { type: 'ErasureCancelled', by: 'ops@example.com', reason: 'mistaken closure', keys: [{ keyArn, keyState: 'Disabled' }] });
      const context = reportingContext(ledger);

      await reportErasure({ kind: 'cancelled', execution, request, keys: [], verification: cancelled }, context);

      expect(message(context.published[0])).toMatchObject({ cancelledBy: 'ops@example.com', reason: 'mistaken closure' });
      expect((await events(ledger)).filter((event) => event.type === 'ErasureCancelled')).toHaveLength(1);
    });
  });

  describe('a failed erasure', () => {
    const failure = { Error: 'KeyNotOwnedBySubject', Cause: JSON.stringify({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'key k-1 does not carry the tag' }) };

    it('tells both topics, then records the failure with its error name and message', async () => {
      const ledger = ledgerDouble();
      const context = reportingContext(ledger);

      const outcome = await reportErasure({ kind: 'failed', execution, request, failure }, context);

      expect(outcome).toEqual({ kind: 'failed', messageIds: ['m-1', 'm-2'] });
      expect((await events(ledger)).map((event) => event.type)).toEqual(['NotificationPublished', 'NotificationPublished', 'ErasureFailed']);
      expect((await events(ledger)).at(-1)).toEqual({ type: 'ErasureFailed', error: 'KeyNotOwnedBySubject', message: 'key k-1 does not carry the tag' });
    });

    it('publishes on a retry only what the first attempt did not', async () => {
      const ledger = ledgerDouble();
      await ledger.record(subject, execution, { type: 'NotificationPublished', kind: 'failed', topicArn: ERASURE_TOPIC_ARN, messageId: 'm-earlier', closureEventId: request.eventId });
      const context = reportingContext(ledger);

      const outcome = await reportErasure({ kind: 'failed', execution, request, failure }, context);

      expect(outcome.messageIds).toEqual(['m-earlier', 'm-1']);
      expect(context.published.map((notification) => notification.topicArn)).toEqual([ONCALL_TOPIC_ARN]);
    });

    it('is told of although the erasure was announced as scheduled on the same topic', async () => {
      const ledger = ledgerDouble();
      const context = reportingContext(ledger);
      await reportErasure({ kind: 'scheduled', execution, request, keys: [] }, context);

      const outcome = await reportErasure({ kind: 'failed', execution, request, failure }, context);

      expect(outcome.messageIds).toEqual(['m-2', 'm-3']);
      expect(context.published.map((notification) => [notification.kind, notification.topicArn])).toEqual([
        ['scheduled', ERASURE_TOPIC_ARN],
        ['failed', ERASURE_TOPIC_ARN],
        ['failed', ONCALL_TOPIC_ARN],
      ]);
    });

    it("is told of although the subject's earlier erasure failed the same way", async () => {
      const ledger = ledgerDouble();
      for (const topicArn of [ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN]) {
        await ledger.record(subject, `${execution}-earlier`, { type: 'NotificationPublished', kind: 'failed', topicArn, messageId: 'm-earlier', closureEventId: request.eventId });
      }
      const context = reportingContext(ledger);

      const outcome = await reportErasure({ kind: 'failed', execution, request, failure }, context);

      expect(outcome.messageIds).toEqual(['m-1', 'm-2']);
      expect(context.published.map((notification) => notification.topicArn)).toEqual([ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN]);
    });
  });
});

describe('publishOnce, for a closure held before any erasure', () => {
  const held = (eventId: string) =>
    ({ kind: 'held', execution: null, request: { ...request, eventId }, because: 'LegalHold', heldBy: 'legal@example.com', reason: 'litigation', until: null, previousErasure: null }) as const;

  it('tells of each held closure once, however often it is delivered', async () => {
    const context = reportingContext(ledgerDouble());

    const first = await publishOnce(held('event-1'), context);
    const again = await publishOnce(held('event-1'), context);

    expect(again).toEqual(first);
    expect(context.published).toHaveLength(2);
  });

  it("tells of a second closure of the same subject, held too, apart from the first's", async () => {
    const context = reportingContext(ledgerDouble());

    await publishOnce(held('event-1'), context);
    const second = await publishOnce(held('event-2'), context);

    expect(second).toEqual(['m-3', 'm-4']);
    expect(context.published.map((notification) => message(notification).closureEventId)).toEqual(['event-1', 'event-1', 'event-2', 'event-2']);
  });
});
