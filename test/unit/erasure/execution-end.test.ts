import { KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executionArnOf } from '../../../functions/lib/aws/erasure-executions.ts';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import { recordExecutionStart } from '../../../functions/lib/erasure/erasure-start.ts';
import { ExecutionStatusChange, recordExecutionEnd } from '../../../functions/lib/erasure/execution-end.ts';
import type { Notification } from '../../../functions/lib/erasure/notifications.ts';
import { recordErasureUnderWay } from '../../support/erasure-ledger.ts';
import { KmsDouble, arnOf, type KeyRecord } from '../../support/kms-double.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, REGION, STATE_MACHINE_ARN, erasureRequestFor, notificationConfig } from '../../support/settings.ts';

const request = erasureRequestFor('user-4821');
const subject = request.subjectFingerprint;
const NOW = new Date('2026-11-28T10:00:00Z');
const STOPPED_AT = '2026-11-28T09:58:00.000Z';
const DAY = 86_400_000;
const firstName = `erasure-${subject}`;
const execution = executionArnOf(STATE_MACHINE_ARN, firstName);

function statusChange(overrides: Partial<ExecutionStatusChange> = {}): ExecutionStatusChange {
  return { executionArn: execution, name: firstName, status: 'ABORTED', stopDate: Date.parse(STOPPED_AT), error: null, cause: null, ...overrides };
}

describe('recordExecutionEnd', () => {
  let kms: KmsDouble;
  let ledger: ReturnType<typeof ledgerDouble>;
  let published: Notification[];
  const context = () => ({
    kms: kmsKeys(new KMSClient({ region: REGION })),
    ledger,
    publisher: { publish: async (notification: Notification) => (published.push(notification), `m-${published.length}`) },
    config: notificationConfig,
    stage: 'prod',
    now: NOW,
  });
  beforeEach(() => {
    kms = new KmsDouble();
    ledger = ledgerDouble();
    published = [];
  });
  afterEach(() => kms.restore());

  const erasureOf = (keys: KeyRecord[], erasure = execution) => recordErasureUnderWay(ledger, request, erasure, keys, NOW);
  const pendingDeletion = (inDays: number) => kms.addKey({ subjectId: 'user-4821', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + inDays * DAY) });
  const deleted = () => {
    const key = kms.addKey({ subjectId: 'user-4821', keyState: 'PendingDeletion' });
    kms.deleteKey(key);
    return key;
  };
  const stopped = () => JSON.parse(published[0]?.message ?? '{}') as { keys: unknown[]; runbook: string[]; closureEventId: string; closureSource: string; status: string };
  const whereItStands = (status: string) => `Where it stands: npx erasure status --fingerprint ${subject} --stage prod. The ledger holds this end (${status}) as evidence.`;

  it("records an operator's cancel in the ledger without paging on-call again", async () => {
    await erasureOf([pendingDeletion(7)]);
    const change = statusChange({ error: 'ErasureCancelled', cause: 'cancelled by ops: mistaken closure' });
    await expect(recordExecutionEnd(change, context())).resolves.toEqual({ subject, status: 'ABORTED', alerted: false, messageIds: [] });
    expect(published).toEqual([]);
    expect((await ledger.read(subject)).entries.at(-1)?.event).toEqual({
      type: 'ExecutionEnded',
      status: 'ABORTED',
      error: 'ErasureCancelled',
      cause: 'cancelled by ops: mistaken closure',
      stoppedAt: STOPPED_AT,
    });
  });

  it('does not page on-call again for a failure NotifyFailed has already reported', async () => {
    await erasureOf([pendingDeletion(7)]);
    await ledger.record(subject, execution, { type: 'ErasureFailed', error: 'AwsServerError', message: 'KMS answered 500' });
    await expect(recordExecutionEnd(statusChange({ status: 'FAILED', error: 'AwsServerError' }), context())).resolves.toMatchObject({ alerted: false, messageIds: [] });
    expect(published).toEqual([]);
  });

  it('does not page on-call for an erasure whose cancellation the ledger already holds and announced', async () => {
    await erasureOf([pendingDeletion(7)]);
    await ledger.record(subject, execution, { type: 'ErasureCancelled', by: 'ops', reason: 'mistaken closure', keys: [] });
    await expect(recordExecutionEnd(statusChange({ status: 'TIMED_OUT', error: 'States.Timeout' }), context())).resolves.toMatchObject({ alerted: false });
    expect(published).toEqual([]);
  });

  it('pages on-call, on both topics, for a stop that was no operator cancel', async () => {
    await erasureOf([pendingDeletion(7)]);
    await expect(recordExecutionEnd(statusChange(), context())).resolves.toEqual({ subject, status: 'ABORTED', alerted: true, messageIds: ['m-1', 'm-2'] });
    expect(published.map((notification) => [notification.kind, notification.topicArn])).toEqual([
      ['stopped', ERASURE_TOPIC_ARN],
      ['stopped', ONCALL_TOPIC_ARN],
    ]);
  });

  it("pages on-call for a failure whatever its error is called: only a stop carries an operator's cancel", async () => {
    await erasureOf([pendingDeletion(7)]);
    await expect(recordExecutionEnd(statusChange({ status: 'FAILED', error: 'ErasureCancelled' }), context())).resolves.toMatchObject({ alerted: true });
  });

  it("pages on-call for this attempt's end though an earlier attempt's failure was reported, naming only this attempt's keys", async () => {
    const earlierKey = pendingDeletion(3);
    await erasureOf([earlierKey]);
    await ledger.record(subject, execution, { type: 'ErasureFailed', error: 'AwsServerError', message: 'KMS answered 500' });
    const key = pendingDeletion(7);
    const secondName = `${firstName}-2`;
    const second = executionArnOf(STATE_MACHINE_ARN, secondName);
    await erasureOf([key], second);

    const outcome = await recordExecutionEnd(statusChange({ executionArn: second, name: secondName, status: 'TIMED_OUT' }), context());
    expect(outcome).toMatchObject({ subject, alerted: true });
    expect(stopped().keys).toEqual([{ keyArn: arnOf(key), keyState: 'PendingDeletion', deletionDate: key.deletionDate?.toISOString() }]);
  });

  it('tells on-call which keys are still pending deletion, from when, and how to stop or to finish the erasure', async () => {
    const later = pendingDeletion(7);
    const sooner = pendingDeletion(5);
    const replica = kms.addKey({ subjectId: 'user-4821', keyState: 'PendingReplicaDeletion' });
    const disabled = kms.addKey({ subjectId: 'user-4821', keyState: 'Disabled' });
    const gone = deleted();
    await erasureOf([later, sooner, replica, disabled, gone]);

    await recordExecutionEnd(statusChange({ status: 'TIMED_OUT', error: 'States.Timeout' }), context());
    expect(stopped()).toMatchObject({
      status: 'TIMED_OUT',
      closureEventId: request.eventId,
      closureSource: request.source,
      keys: [
        { keyArn: arnOf(later), keyState: 'PendingDeletion', deletionDate: '2026-12-05T10:00:00.000Z' },
        { keyArn: arnOf(sooner), keyState: 'PendingDeletion', deletionDate: '2026-12-03T10:00:00.000Z' },
        { keyArn: arnOf(replica), keyState: 'PendingReplicaDeletion', deletionDate: null },
        { keyArn: arnOf(disabled), keyState: 'Disabled', deletionDate: null },
        { keyArn: arnOf(gone), keyState: 'Deleted', deletionDate: null },
      ],
    });
    expect(stopped().runbook).toEqual([
      '3 key(s) are still pending deletion (first on 2026-12-03T10:00:00.000Z): KMS will destroy them on that date whatever happened to the execution, and no certificate will be issued.',
      `To stop the deletion (a mistaken closure, a legal hold), before that date: npx erasure cancel --fingerprint ${subject} --reason "<why>" --stage prod (or npx erasure hold ... for a legal hold).`,
      `To finish the erasure with a certificate: npx erasure release --fingerprint ${subject} --reason "<why>" --stage prod, then replay the subject's closure event.`,
      whereItStands('TIMED_OUT'),
    ]);
  });

  it('names no date for keys pending deletion when KMS gives none (a replica)', async () => {
    await erasureOf([kms.addKey({ subjectId: 'user-4821', keyState: 'PendingReplicaDeletion' })]);
    await recordExecutionEnd(statusChange(), context());
    expect(stopped().runbook[0]).toBe(
      '1 key(s) are still pending deletion: KMS will destroy them on that date whatever happened to the execution, and no certificate will be issued.',
    );
  });

  it('says nothing is irreversible yet when no key is pending deletion and one is still there', async () => {
    await erasureOf([deleted(), kms.addKey({ subjectId: 'user-4821', keyState: 'Disabled' })]);
    await recordExecutionEnd(statusChange({ status: 'FAILED', error: 'States.TaskFailed' }), context());
    expect(stopped().runbook).toEqual([
      'No key is pending deletion: nothing is irreversible yet. Find out why the execution ended before replaying the closure.',
      whereItStands('FAILED'),
    ]);
  });

  it('says the data is erased but uncertified when KMS has already deleted every key', async () => {
    await erasureOf([deleted(), deleted()]);
    await recordExecutionEnd(statusChange(), context());
    expect(stopped().runbook).toEqual([
      'Every key is already deleted: the data is erased, but no certificate was issued. Release the subject and replay the closure to have the deletion verified and certified.',
      whereItStands('ABORTED'),
    ]);
  });

  it('says no key was touched when the execution ended before its keys were resolved', async () => {
    await recordExecutionStart(ledger, request, execution, NOW);
    await recordExecutionEnd(statusChange(), context());
    expect(stopped()).toMatchObject({
      keys: [],
      runbook: ['No key was resolved before the execution ended: no key was touched.', whereItStands('ABORTED')],
    });
  });

  it('reports an execution the ledger never heard of, with its closure unknown and no key named', async () => {
    await expect(recordExecutionEnd(statusChange({ status: 'FAILED' }), context())).resolves.toMatchObject({ subject, alerted: true });
    expect(stopped()).toMatchObject({ closureEventId: 'unknown', closureSource: 'unknown', keys: [], runbook: [expect.stringMatching(/^No key was resolved/), whereItStands('FAILED')] });
    expect((await ledger.read(subject)).entries.map((entry) => entry.event.type)).toEqual(['ExecutionEnded', 'NotificationPublished', 'NotificationPublished']);
  });

  it("reads the subject from the name of any attempt, however many came before", async () => {
    const name = `${firstName}-12`;
    await expect(recordExecutionEnd(statusChange({ executionArn: executionArnOf(STATE_MACHINE_ARN, name), name }), context())).resolves.toMatchObject({ subject });
  });

  it.each([
    ['a suffix that is no attempt number', `${firstName}-retry`],
    ['a prefix before the erasure name', `re-${firstName}`],
    ['a fingerprint cut short', firstName.slice(0, -1)],
  ])('refuses, with RangeError and recording nothing, an execution whose name has %s', async (_, name) => {
    const executionArn = executionArnOf(STATE_MACHINE_ARN, name);
    await expect(recordExecutionEnd(statusChange({ executionArn, name }), context())).rejects.toThrow(
      new RangeError(`execution ${executionArn} is not an erasure (its name does not carry a subject fingerprint)`),
    );
    expect((await ledger.read(subject)).entries).toEqual([]);
    expect(published).toEqual([]);
  });
});

describe('ExecutionStatusChange', () => {
  it.each(['ABORTED', 'TIMED_OUT', 'FAILED'] as const)('accepts the status change of an execution that ended %s', (status) => {
    expect(ExecutionStatusChange.safeParse(statusChange({ status })).success).toBe(true);
  });

  it('rejects a change whose execution is not an ARN', () => {
    expect(ExecutionStatusChange.safeParse(statusChange({ executionArn: firstName })).success).toBe(false);
  });

  it('rejects a change to a status that is no abnormal end', () => {
    expect(ExecutionStatusChange.safeParse({ ...statusChange(), status: 'SUCCEEDED' }).success).toBe(false);
  });
});
