import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allStates } from '../../embedded-aws/stepfunctions/definition.ts';
import { RECHECK_INTERVAL_MS } from '../../functions/lib/erasure/deletion-verification.ts';
import type { SignedCertificate } from '../../functions/lib/erasure/certificate.ts';
import { verifyCertificate } from '../../functions/lib/erasure/certificate-verification.ts';
import { ERASURE_INPUT, erasureDefinition, runErasure } from '../support/erasure-run.ts';
import { COMPLETED_ERASURE_EVENTS } from '../support/ledger-double.ts';
import { KmsDouble, arnOf, kmsInternalError, throttled } from '../support/kms-double.ts';
import { ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, useFunctionEnvironment } from '../support/settings.ts';

const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const START = new Date('2026-11-20T10:00:00Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const input = ERASURE_INPUT;

beforeAll(() => useFunctionEnvironment());

// Each promise read here is also seen kept by running the machine: erasure-asl.behaviour.test.ts.
describe('the erasure state machine definition', () => {
  let definition: Awaited<ReturnType<typeof erasureDefinition>>;
  beforeAll(async () => {
    definition = await erasureDefinition();
  });

  it('is valid ASL', () => {
    // A copy: the validator annotates the definition it is given.
    const validation = validateAsl(structuredClone(definition));
    expect(validation.errorsText('\n')).toBe('');
    expect(validation.isValid).toBe(true);
  });

  it('gives every state a Comment', () => {
    const missing = [...allStates(definition)].filter(([, state]) => typeof state.Comment !== 'string' || state.Comment.length < 10);
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('is JSONPath, not JSONata, which the local runner cannot execute', () => {
    const asl = JSON.parse(readFileSync('statemachines/erasure.asl.json', 'utf8'));
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect([...allStates(definition).values()].filter((state) => 'QueryLanguage' in state || 'Arguments' in state || 'Output' in state)).toEqual([]);
  });

  it('never waits a fixed interval: whatever comes before a check waits as long as the erasure computed', () => {
    const states = [...allStates(definition)];
    expect(states.filter(([, state]) => state.Type === 'Wait' && (state.Seconds !== undefined || state.Timestamp !== undefined))).toEqual([]);
    const leadsToCheck = (state: Record<string, unknown>) =>
      state.Next === 'CheckDeletion' || ((state.Catch as { Next: string }[] | undefined) ?? []).some((catcher) => catcher.Next === 'CheckDeletion');
    const beforeChecks = states.filter(([, state]) => leadsToCheck(state) && state.Type !== 'Choice');
    expect(beforeChecks.length).toBeGreaterThanOrEqual(2);
    for (const [, state] of beforeChecks) expect(state.TimestampPath ?? state.SecondsPath ?? state.TimeoutSecondsPath).toMatch(/^\$\.(erased|verification)\./);
  });

  it('retries throttling and 5xx with full jitter and a cap on the delay, on every Lambda task', () => {
    const lambdaTasks = [...allStates(definition).values()].filter((state) => state.Type === 'Task' && String(state.Resource).startsWith('arn:aws:lambda:'));
    expect(lambdaTasks).toHaveLength(6);
    for (const task of lambdaTasks) {
      const [transient] = task.Retry as { ErrorEquals: string[]; JitterStrategy: string; MaxDelaySeconds: number }[];
      expect(transient?.ErrorEquals).toEqual(expect.arrayContaining(['ThrottlingException', 'AwsServerError']));
      expect(transient).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    }
  });

  it('hands the keys to the key erasure queue with a task token, retrying SQS failures with full jitter, and waits a bounded time', () => {
    const task = allStates(definition).get('EraseKeysAtQuotaPace');
    expect(task).toMatchObject({ Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken', ResultPath: '$.erased', TimeoutSeconds: expect.any(Number) });
    expect((task?.Parameters as { MessageBody: Record<string, string> }).MessageBody).toMatchObject({ 'taskToken.$': '$$.Task.Token' });
    const [transient] = task?.Retry as { ErrorEquals: string[]; JitterStrategy: string; MaxDelaySeconds: number }[];
    expect(transient?.ErrorEquals).toEqual(expect.arrayContaining(['SQS.SdkClientException', 'SQS.InternalError']));
    expect(transient).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
  });
});

describe('an erasure run by the state machine', () => {
  let kms: KmsDouble;
  beforeEach(() => {
    kms = new KmsDouble({ deleteWhenDue: true });
  });
  afterEach(() => kms.restore());

  it('disables, schedules, waits until the deletion date, verifies and completes', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(kms.keys.has(key.keyId)).toBe(false);
    expect(run.notifications.map((notification) => notification.kind)).toEqual(['scheduled', 'completed']);
    const [scheduled, completed] = run.notifications;
    expect(scheduled?.message.deletionDate).toBe(new Date(START.getTime() + 7 * DAY).toISOString());
    const signed = completed?.message.certificate as SignedCertificate;
    expect(signed.certificate).toMatchObject({ sanitized: { keys: [{ keyArn: arnOf(key) }] }, verification: { result: 'Passed' } });
    expect(verifyCertificate(signed, kms.signingPublicKey)).toMatchObject({ valid: true });
    expect(run.statesEntered.slice(0, 3)).toEqual(['ResolveKeys', 'EraseKeysAtQuotaPace', 'NotifyScheduled']);
    expect(run.statesEntered.at(-1)).toBe('ErasureCompleted');
    // One check, once the deletion date has passed: none right after scheduling, which could only answer pending.
    expect(run.verifications).toEqual([expect.objectContaining({ status: 'Deleted' })]);
    const checkedAt = Date.parse((run.verifications[0] as unknown as { checkedAt: string }).checkedAt);
    expect(checkedAt).toBeGreaterThanOrEqual(START.getTime() + 7 * DAY);
    // ...and no later than the day KMS may take past it, and an hour.
    expect(checkedAt).toBeLessThanOrEqual(START.getTime() + 7 * DAY + 25 * HOUR);
    expect(run.ledger).toEqual(COMPLETED_ERASURE_EVENTS);
  });

  it('treats a key already pending deletion as scheduled, keeps its deletion date and asks KMS nothing more of it', async () => {
    const deletionDate = new Date(START.getTime() + 3 * DAY);
    kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(kms.calls('DisableKey') + kms.calls('ScheduleKeyDeletion')).toBe(0);
    expect(run.notifications[0]?.message).toMatchObject({ deletionDate: deletionDate.toISOString(), keys: [{ alreadyScheduled: true }] });
    expect(run.notifications.at(-1)?.kind).toBe('completed');
  });

  it("refuses a key not owned by the subject: nothing disabled, nothing scheduled, on-call told", async () => {
    const key = kms.addKey({ alias: 'alias/erasure/subject/user-1', tags: { 'erasure:subject': 'user-2' } });
    const run = await runErasure(input, { start: START });

    expect(run).toMatchObject({ status: 'FAILED', error: 'KeyNotOwnedBySubject' });
    expect(key.keyState).toBe('Enabled');
    expect(kms.calls('DisableKey') + kms.calls('ScheduleKeyDeletion')).toBe(0);
    expect(run.notifications.map((notification) => [notification.topicArn, notification.kind])).toEqual([
      [ERASURE_TOPIC_ARN, 'failed'],
      [ONCALL_TOPIC_ARN, 'failed'],
    ]);
    expect(run.notifications[1]?.message).toMatchObject({ error: 'KeyNotOwnedBySubject' });
  });

  it('refuses an AWS managed key without touching it', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyManager: 'AWS' });
    const run = await runErasure(input, { start: START });
    expect(run).toMatchObject({ status: 'FAILED', error: 'KeyNotCustomerManaged' });
    expect(key.keyState).toBe('Enabled');
    expect(kms.calls('DisableKey') + kms.calls('ScheduleKeyDeletion')).toBe(0);
  });

  it('notices a deletion cancelled outside the pipeline during the waiting period and pages on-call', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, {
      start: START,
      beforeCheck: (checksSoFar) => {
        // During the waiting period, before the check at the deletion date.
        if (checksSoFar === 0) kms.cancelDeletion(key);
      },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered.at(-1)).toBe('ErasureCancelled');
    expect(key.keyState).toBe('Disabled');
    expect(run.notifications.map((notification) => [notification.topicArn, notification.kind])).toEqual([
      [ERASURE_TOPIC_ARN, 'scheduled'],
      [ERASURE_TOPIC_ARN, 'cancelled'],
      [ONCALL_TOPIC_ARN, 'cancelled'],
    ]);
    expect(run.notifications[1]?.message).toMatchObject({ severity: 'critical', keys: [{ fate: 'DeletionCancelled', keyState: 'Disabled' }] });
  });

  it('waits out throttled KMS calls and then succeeds', async () => {
    kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', throttled(), throttled());
    kms.failNext('ScheduleKeyDeletion', throttled());
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(kms.calls('DisableKey')).toBe(3);
    expect(kms.calls('ScheduleKeyDeletion')).toBe(2);
  });

  it('never fails for throttling, however long it lasts', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', ...Array.from({ length: 20 }, () => throttled()));
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(kms.calls('DisableKey')).toBe(21);
    expect(run.statesEntered).not.toContain('NotifyFailed');
    expect(run.notifications.filter((notification) => notification.topicArn === ONCALL_TOPIC_ARN)).toEqual([]);
    expect(kms.keys.has(key.keyId)).toBe(false);
  });

  it('retries a brief KMS failure in place, completing on the first delivery of its keys', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', kmsInternalError(), kmsInternalError());
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.receives).toEqual([1]);
    expect(kms.keys.has(key.keyId)).toBe(false);
  });

  it('hands the keys back to the queue when KMS fails for longer than the retries in place, and completes', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    // Five attempts in place per delivery: the sixth failure is the second delivery's first attempt.
    kms.failNext('DisableKey', ...Array.from({ length: 6 }, () => kmsInternalError()));
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.receives).toEqual([1, 2]);
    expect(run.ledger).toEqual(COMPLETED_ERASURE_EVENTS);
    expect(kms.keys.has(key.keyId)).toBe(false);
  });

  it('fails the erasure, telling on-call, when KMS fails through five deliveries of its keys', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', ...Array.from({ length: 25 }, () => kmsInternalError()));
    const run = await runErasure(input, { start: START });

    expect(run).toMatchObject({ status: 'FAILED', error: 'AwsServerError' });
    expect(run.receives).toEqual([1, 2, 3, 4, 5]);
    expect(key.keyState).toBe('Enabled');
    expect(run.notifications.filter((notification) => notification.topicArn === ONCALL_TOPIC_ARN)).toEqual([
      expect.objectContaining({ kind: 'failed', message: expect.objectContaining({ error: 'AwsServerError' }) }),
    ]);
  });

  it('routes a failure that is not worth retrying straight to notify failed', async () => {
    kms.addKey({ subjectId: 'user-1' });
    kms.failNext('ScheduleKeyDeletion', Object.assign(new Error('not allowed'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const run = await runErasure(input, { start: START });

    expect(run).toMatchObject({ status: 'FAILED', error: 'AccessDeniedException' });
    expect(kms.calls('ScheduleKeyDeletion')).toBe(1);
    expect(run.notifications.filter((notification) => notification.topicArn === ONCALL_TOPIC_ARN)).toHaveLength(1);
    expect(run.notifications.at(-1)?.message).toMatchObject({ error: 'AccessDeniedException', message: 'not allowed' });
  });

  it('looks again no sooner than an hour and no later than as long again as KMS has been late, then completes', async () => {
    kms.restore();
    kms = new KmsDouble({ deleteWhenDue: true, deletionLagMs: 30 * HOUR });
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.notifications.at(-1)?.kind).toBe('completed');
    expect(kms.keys.has(key.keyId)).toBe(false);
    const deletionDate = Date.parse(String(run.notifications[0]?.message.deletionDate));
    const checks = run.verifications as unknown as { status: string; checkedAt: string; nextCheckAt: string | null }[];
    expect(checks.at(-1)?.status).toBe('Deleted');
    expect(checks.slice(0, -1).every((check) => check.status === 'Pending')).toBe(true);
    // In whole hours: check times are rounded up to whole seconds.
    const hours = (ms: number) => Math.round(ms / HOUR);
    for (const check of checks.slice(0, -1)) {
      const late = Date.parse(check.checkedAt) - deletionDate;
      const interval = hours(Date.parse(check.nextCheckAt ?? '') - Date.parse(check.checkedAt));
      expect(interval).toBeGreaterThanOrEqual(hours(RECHECK_INTERVAL_MS));
      expect(interval).toBeLessThanOrEqual(hours(Math.max(RECHECK_INTERVAL_MS, late)));
    }
    // KMS deleted the key 30 hours late: found deleted before it has been late twice as long again.
    expect(checks.length).toBeGreaterThanOrEqual(2);
    expect(hours(Date.parse(checks.at(-1)?.checkedAt ?? '') - deletionDate)).toBeLessThanOrEqual(2 * 30 + 1);
  });

  it('spends a handful of checks, not one an hour, when KMS deletes the key a day late', async () => {
    kms.restore();
    kms = new KmsDouble({ deleteWhenDue: true, deletionLagMs: 24 * HOUR });
    kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    // Hourly, that would be 25 checks.
    expect(run.verifications.length).toBeLessThanOrEqual(7);
    expect(run.verifications.at(-1)?.status).toBe('Deleted');
  });
});
