import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DescribeStateMachineCommand, SFNClient, StopExecutionCommand, UpdateStateMachineCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancel, hold, release } from '../../cli/commands/decisions.ts';
import { certificateOf, exportPublicKey } from '../../cli/commands/certificates.ts';
import { resolveTarget, type Target } from '../../cli/target.ts';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { entryKey } from '../../functions/lib/aws/ledger-table.ts';
import { verifyCertificate } from '../../functions/lib/erasure/certificate-verification.ts';
import { executionName, fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, keyStateOf, notificationsOf, publishClosure, sampleClosure, waitFor } from '../support/embedded.ts';
import { COMPLETED_ERASURE_EVENTS } from '../support/ledger-double.ts';
import { schemaErrors } from '../support/notification-schema.ts';

/**
 * The ledger end to end, on an embedded AWS whose clock runs at real speed and is moved on by the
 * tests: every operator decision lands inside the waiting period, whatever the machine's load.
 */
const DAY = 86_400_000;
let aws: EmbeddedAws;
let kms: KMSClient;
let target: Target;

beforeAll(async () => {
  aws = await startEmbeddedAws({ timeScale: 1, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  kms = new KMSClient(aws.clientConfig);
  target = await resolveTarget({ endpoint: aws.endpoint });
  // The operator acts at the embedded AWS's virtual time, as the pipeline does.
  target.now = () => aws.clock.now();
}, 60_000);
afterAll(async () => aws?.close());

const fingerprint = (subjectId: string) => fingerprintSubject(subjectId);
const eventTypes = async (subjectId: string) => (await target.ledger.read(fingerprint(subjectId))).entries.map((entry) => entry.event.type);
const executionsOf = (subjectId: string) =>
  aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).filter((execution) => execution.name.startsWith(executionName(fingerprint(subjectId), 1)));
/** Waits until the subject's erasures have been scheduled `times` times in all: only then may the clock jump. */
const scheduled = (subjectId: string, times = 1) =>
  waitFor(
    () => notificationsOf(aws, 'ErasureNotificationsTopic', fingerprint(subjectId)).filter((notification) => notification.kind === 'scheduled').length >= times,
    `${subjectId}'s erasure scheduled`,
  );

async function eraseCompletely(subjectId: string) {
  const key = await createSubjectKey(kms, subjectId);
  await publishClosure(aws, sampleClosure(subjectId).detail);
  await scheduled(subjectId);
  aws.clock.advance(31 * DAY);
  await aws.idle();
  return key;
}

describe('the erasure ledger, end to end', () => {
  it('records every step of a completed erasure in one intact chain, and its certificate verifies offline', async () => {
    const key = await eraseCompletely('ledger-complete');
    expect(await keyStateOf(kms, key.keyId)).toBe('NotFoundException');
    // KMS's own deletion event races the pipeline's check: wherever it lands, it is there once.
    const types = await eventTypes('ledger-complete');
    expect(types.filter((type) => type !== 'KeyDeletedByKms')).toEqual(COMPLETED_ERASURE_EVENTS);
    expect(types.filter((type) => type === 'KeyDeletedByKms')).toHaveLength(1);
    const record = await target.ledger.read(fingerprint('ledger-complete'));
    expect(record.chain).toMatchObject({ intact: true, length: 10 });

    const signed = await certificateOf(target, fingerprint('ledger-complete'));
    const { pem } = await exportPublicKey(target, undefined);
    expect(verifyCertificate(signed, pem)).toMatchObject({ valid: true, subject: fingerprint('ledger-complete') });
    expect(signed.certificate.sanitized.keys).toEqual([expect.objectContaining({ keyArn: key.arn, origin: 'AWS_KMS', verifiedDeletedAt: expect.any(String) })]);
    const issued = record.entries.find((entry) => entry.event.type === 'CertificateIssued')!;
    expect(signed.certificate.ledger.chainHead).toEqual({ sequence: issued.sequence - 1, hash: issued.previousHash });
    // The published certificate is the ledger's, byte for byte.
    const completed = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprint('ledger-complete')).find((notification) => notification.kind === 'completed');
    expect(completed?.body.certificate).toEqual(signed);
    expect(schemaErrors(completed?.body)).toEqual([]);
    expect(JSON.stringify(record.entries)).not.toContain('ledger-complete');
  });

  it('answers a replay of an erased subject 100 days later with "already erased" and its certificate, quietly', async () => {
    await eraseCompletely('ledger-replayed');
    const certificate = await certificateOf(target, fingerprint('ledger-replayed'));
    aws.clock.advance(100 * DAY);
    const pagesBefore = aws.sns.published(aws.arnOf('OnCallAlertsTopic')).length;

    const answer = await aws.lambda.invoke('crypto-erasure-local-intake', { ...sampleClosure('ledger-replayed'), id: 'replayed-after-100-days' });
    expect(answer).toMatchObject({ outcome: 'already-erased', certificateId: certificate.certificate.certificateId, erasedAt: certificate.certificate.dates.completedAt });
    await aws.idle();
    expect(executionsOf('ledger-replayed')).toHaveLength(1);
    expect(aws.sns.published(aws.arnOf('OnCallAlertsTopic'))).toHaveLength(pagesBefore);
    expect((await eventTypes('ledger-replayed')).slice(-2)).toEqual(['ClosureReceived', 'ClosureDeclined']);
  });

  it('keeps a held subject, held before its closure, through a replay 100 days later', async () => {
    const key = await createSubjectKey(kms, 'ledger-held');
    await hold(target, fingerprint('ledger-held'), { reason: 'litigation 2026-17', by: 'legal@example.com' });
    await publishClosure(aws, sampleClosure('ledger-held').detail);
    await aws.idle();
    aws.clock.advance(100 * DAY);
    await publishClosure(aws, sampleClosure('ledger-held').detail);
    aws.clock.advance(31 * DAY);
    await aws.idle();

    expect(await keyStateOf(kms, key.keyId)).toBe('Enabled');
    expect(executionsOf('ledger-held')).toEqual([]);
    const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprint('ledger-held'));
    expect(alerts.map((alert) => [alert.kind, alert.body.because, alert.body.heldBy])).toEqual([
      ['held', 'LegalHold', 'legal@example.com'],
      ['held', 'LegalHold', 'legal@example.com'],
    ]);
    expect(await eventTypes('ledger-held')).toEqual([
      'LegalHoldPlaced',
      'ClosureReceived',
      'ClosureDeclined',
      'NotificationPublished',
      'NotificationPublished',
      'ClosureReceived',
      'ClosureDeclined',
      'NotificationPublished',
      'NotificationPublished',
    ]);
  });

  it('cancels a hold-bound erasure already under way, and erases only after a release', async () => {
    const key = await createSubjectKey(kms, 'ledger-hold-midway');
    await publishClosure(aws, sampleClosure('ledger-hold-midway').detail);
    await scheduled('ledger-hold-midway');
    const held = await hold(target, fingerprint('ledger-hold-midway'), { reason: 'regulator inquiry' });
    expect(held.cancelled?.keys).toEqual([expect.objectContaining({ keyArn: key.arn, keyState: 'Disabled', cancelled: true })]);
    aws.clock.advance(31 * DAY);
    await aws.idle();
    expect(await keyStateOf(kms, key.keyId)).toBe('Disabled');
    expect(executionsOf('ledger-hold-midway')).toEqual([expect.objectContaining({ status: 'ABORTED' })]);

    await release(target, fingerprint('ledger-hold-midway'), { reason: 'inquiry closed' });
    await publishClosure(aws, sampleClosure('ledger-hold-midway').detail);
    await scheduled('ledger-hold-midway', 2);
    aws.clock.advance(31 * DAY);
    await aws.idle();
    expect(await keyStateOf(kms, key.keyId)).toBe('NotFoundException');
    expect((await target.ledger.read(fingerprint('ledger-hold-midway'))).erased).toMatchObject({ executionName: executionName(fingerprint('ledger-hold-midway'), 2) });
  });

  it('never reports a cancelled erasure as completed: a replay waits for a release', async () => {
    const key = await createSubjectKey(kms, 'ledger-cancelled');
    await publishClosure(aws, sampleClosure('ledger-cancelled').detail);
    await scheduled('ledger-cancelled');
    const cancelled = await cancel(target, fingerprint('ledger-cancelled'), { reason: 'closed by mistake', by: 'ops@example.com' });
    expect(cancelled).toMatchObject({ outcome: 'cancelled', keys: [{ keyArn: key.arn, keyState: 'Disabled', cancelled: true }] });
    await aws.idle();
    aws.clock.advance(31 * DAY);
    await aws.idle();

    expect(await keyStateOf(kms, key.keyId)).toBe('Disabled');
    const answer = await aws.lambda.invoke('crypto-erasure-local-intake', { ...sampleClosure('ledger-cancelled'), id: 'replayed-after-cancel' });
    expect(answer).toMatchObject({ outcome: 'awaiting-release' });
    const notifications = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprint('ledger-cancelled'));
    expect(notifications.map((notification) => notification.kind)).toEqual(['scheduled', 'cancelled', 'held']);
    expect(notifications[1]?.body).toMatchObject({ cancelledBy: 'ops@example.com', reason: 'closed by mistake' });
    expect(notifications.some((notification) => notification.kind === 'completed')).toBe(false);
    // The operator's stop is the cancel's own: no stopped-execution page on top of it.
    expect(notificationsOf(aws, 'OnCallAlertsTopic', fingerprint('ledger-cancelled')).map((alert) => alert.kind)).toEqual(['held']);
  });

  it('refuses to cancel an erasure KMS has carried out', async () => {
    await eraseCompletely('ledger-too-late');
    await expect(cancel(target, fingerprint('ledger-too-late'), { reason: 'too late' })).rejects.toMatchObject({
      name: 'ErasureIrreversible',
      message: expect.stringContaining('cannot be undone'),
    });
  });

  it('records and pages an erasure someone stopped by hand, with its keys still pending deletion and what to do', async () => {
    const key = await createSubjectKey(kms, 'ledger-stopped');
    await publishClosure(aws, sampleClosure('ledger-stopped').detail);
    await scheduled('ledger-stopped');
    const [execution] = executionsOf('ledger-stopped');
    await new SFNClient(aws.clientConfig).send(new StopExecutionCommand({ executionArn: execution!.executionArn, error: 'Manual', cause: 'console' }));
    await aws.idle();

    const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprint('ledger-stopped'));
    expect(alerts).toEqual([expect.objectContaining({ kind: 'stopped', subject: expect.stringMatching(/^ERASURE ABORTED/) })]);
    expect(alerts[0]?.body).toMatchObject({ status: 'ABORTED', error: 'Manual', keys: [{ keyArn: key.arn, keyState: 'PendingDeletion' }] });
    // The closure behind it, as the ledger recorded it: the execution's input (which holds the subject id) is never read.
    expect(alerts[0]?.body).toMatchObject({ closureSource: 'com.example.accounts', closedAt: sampleClosure('ledger-stopped').detail.closedAt });
    expect(alerts[0]?.body.runbook.join('\n')).toContain(`npx erasure cancel --fingerprint ${fingerprint('ledger-stopped')}`);
    expect(schemaErrors(alerts[0]?.body)).toEqual([]);
    expect((await target.ledger.read(fingerprint('ledger-stopped'))).awaitingRelease).toMatchObject({ status: 'stopped' });
  });

  it('records and pages an erasure that timed out: one that outlived the bound of its state machine', async () => {
    // The machine bounds an erasure at 90 days; one tried locally with a 10-day bound (UpdateStateMachine,
    // as a user trying a changed definition would) outlives it with its key still pending deletion.
    const sfn = new SFNClient(aws.clientConfig);
    const stateMachineArn = aws.arnOf('ErasureStateMachine');
    const { definition = '' } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    await sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition: JSON.stringify({ ...JSON.parse(definition), TimeoutSeconds: 10 * 86_400 }) }));
    try {
      const key = await createSubjectKey(kms, 'ledger-timeout');
      await publishClosure(aws, sampleClosure('ledger-timeout').detail);
      await scheduled('ledger-timeout');
      aws.clock.advance(11 * DAY);
      await aws.idle();

      expect(executionsOf('ledger-timeout')).toEqual([expect.objectContaining({ status: 'TIMED_OUT' })]);
      const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprint('ledger-timeout'));
      expect(alerts.map((alert) => alert.body.status)).toEqual(['TIMED_OUT']);
      expect(alerts[0]?.body.keys).toEqual([expect.objectContaining({ keyArn: key.arn, keyState: 'PendingDeletion' })]);
      expect((await target.ledger.read(fingerprint('ledger-timeout'))).erasures).toEqual([expect.objectContaining({ status: 'timed-out' })]);
    } finally {
      await sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition }));
    }
  });

  it('writes each event once when one closure is delivered five times at once', async () => {
    const key = await createSubjectKey(kms, 'ledger-concurrent');
    const closure = { ...sampleClosure('ledger-concurrent'), id: 'one-closure-five-deliveries' };
    const answers = await Promise.all(Array.from({ length: 5 }, () => aws.lambda.invoke('crypto-erasure-local-intake', closure)));
    expect(answers.every((answer) => ['started', 'already-in-progress'].includes((answer as { outcome: string }).outcome))).toBe(true);
    await scheduled('ledger-concurrent');
    aws.clock.advance(31 * DAY);
    await aws.idle();

    expect(await keyStateOf(kms, key.keyId)).toBe('NotFoundException');
    expect(executionsOf('ledger-concurrent')).toHaveLength(1);
    const entries = (await target.ledger.read(fingerprint('ledger-concurrent'))).entries;
    expect(entries.filter((entry) => entry.event.type === 'ClosureReceived')).toHaveLength(1);
    expect(entries.filter((entry) => entry.event.type === 'ErasureStarted')).toHaveLength(1);
    expect(new Set(entries.map((entry) => entry.idempotencyKey)).size).toBe(entries.length);
  });

  it('shows a past entry edited in the table as a broken chain, and then refuses to act on it', async () => {
    await eraseCompletely('ledger-tampered');
    const subject = fingerprint('ledger-tampered');
    const entries = (await target.ledger.read(subject)).entries;
    const scheduledEntry = entries.find((entry) => entry.event.type === 'KeyDeletionScheduled')!;
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient(aws.clientConfig));
    await documents.send(
      new PutCommand({
        TableName: target.resources.ledgerTableName,
        Item: { ...scheduledEntry, entry: entryKey(scheduledEntry.sequence), event: { ...scheduledEntry.event, deletionDate: '2030-01-01T00:00:00.000Z' } },
      }),
    );

    const record = await target.ledger.read(subject);
    expect(record.chain).toMatchObject({ intact: false, brokenAt: scheduledEntry.sequence, problem: expect.stringContaining('altered') });
    await expect(aws.lambda.invoke('crypto-erasure-local-intake', { ...sampleClosure('ledger-tampered'), id: 'after-tampering' })).rejects.toMatchObject({ name: 'LedgerChainBroken' });
  });
});
