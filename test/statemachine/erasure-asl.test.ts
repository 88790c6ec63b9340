import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allStates } from '../../embedded-aws/stepfunctions/definition.ts';
import { RECHECK_INTERVAL_MS, wholeSecondsAfter } from '../../functions/lib/erasure/deletion-verification.ts';
import type { SignedCertificate } from '../../functions/lib/erasure/certificate.ts';
import { verifyCertificate } from '../../functions/lib/erasure/certificate-verification.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { erasureDefinition, runErasure } from '../support/erasure-run.ts';
import { COMPLETED_ERASURE_EVENTS } from '../support/ledger-double.ts';
import { KmsDouble, arnOf, throttled } from '../support/kms-double.ts';
import { ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, useFunctionEnvironment } from '../support/settings.ts';

const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const START = new Date('2026-11-20T10:00:00Z');
const DAY = 86_400_000;
const input = {
  request: {
    subjectId: 'user-1',
    subjectFingerprint: fingerprintSubject('user-1'),
    eventId: 'event-1',
    source: 'com.example.accounts',
    closedAt: '2026-11-20T09:59:00Z',
    reason: 'customer-request',
    keyIds: [],
  },
};

beforeAll(() => useFunctionEnvironment());

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

  it('waits with one TimestampPath wait, never a fixed daily loop', () => {
    const waits = [...allStates(definition).values()].filter((state) => state.Type === 'Wait');
    expect(waits).toEqual([expect.objectContaining({ TimestampPath: '$.verification.nextCheckAt' })]);
  });

  it('retries throttling and 5xx with full jitter and a cap on the delay, on every task', () => {
    const tasks = [...allStates(definition).values()].filter((state) => state.Type === 'Task');
    expect(tasks).toHaveLength(8);
    for (const task of tasks) {
      const [transient] = task.Retry as { ErrorEquals: string[]; JitterStrategy: string; MaxDelaySeconds: number }[];
      expect(transient?.ErrorEquals).toEqual(expect.arrayContaining(['ThrottlingException', 'AwsServerError']));
      expect(transient).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
    }
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
    expect(run.statesEntered.filter((state) => state === 'WaitUntilNextCheck')).toHaveLength(1);
    expect(run.statesEntered.at(-1)).toBe('ErasureCompleted');
    expect(run.ledger).toEqual(COMPLETED_ERASURE_EVENTS);
  });

  it('treats a key already pending deletion as scheduled and keeps its deletion date', async () => {
    const deletionDate = new Date(START.getTime() + 3 * DAY);
    kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(kms.calls('ScheduleKeyDeletion')).toBe(1);
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

  it('notices a deletion cancelled during the waiting period and says so', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, {
      start: START,
      beforeCheck: (checksSoFar) => {
        if (checksSoFar === 1) kms.cancelDeletion(key);
      },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.statesEntered.at(-1)).toBe('ErasureCancelled');
    expect(key.keyState).toBe('Disabled');
    expect(run.notifications.map((notification) => notification.kind)).toEqual(['scheduled', 'cancelled']);
    expect(run.notifications[1]?.message).toMatchObject({ keys: [{ fate: 'DeletionCancelled', keyState: 'Disabled' }] });
  });

  it('retries throttled KMS calls and then succeeds', async () => {
    kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', throttled(), throttled());
    kms.failNext('ScheduleKeyDeletion', throttled());
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    expect(kms.calls('DisableKey')).toBe(3);
    expect(kms.calls('ScheduleKeyDeletion')).toBe(2);
  });

  it('ends in notify failed when throttling outlasts the retries', async () => {
    kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', ...Array.from({ length: 20 }, () => throttled()));
    const run = await runErasure(input, { start: START });

    expect(run).toMatchObject({ status: 'FAILED', error: 'ThrottlingException' });
    expect(kms.calls('DisableKey')).toBe(9);
    expect(run.statesEntered).toContain('NotifyFailed');
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

  it('checks again an hour after the deletion date while KMS is late, then completes', async () => {
    kms.restore();
    kms = new KmsDouble({ deleteWhenDue: true, deletionLagMs: 30 * 60_000 });
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    const deletionDate = START.getTime() + 7 * DAY;
    expect(run.verifications).toEqual([
      { status: 'Pending', nextCheckAt: wholeSecondsAfter(deletionDate), checkedAt: expect.any(String), keys: expect.any(Array) },
      { status: 'Pending', nextCheckAt: wholeSecondsAfter(deletionDate + RECHECK_INTERVAL_MS), checkedAt: expect.any(String), keys: expect.any(Array) },
      { status: 'Deleted', nextCheckAt: null, checkedAt: expect.any(String), keys: expect.any(Array) },
    ]);
    expect(run.statesEntered.filter((state) => state === 'CheckDeletion')).toHaveLength(3);
    expect(run.statesEntered.filter((state) => state === 'WaitUntilNextCheck')).toHaveLength(2);
    expect(run.notifications.at(-1)?.kind).toBe('completed');
    expect(kms.keys.has(key.keyId)).toBe(false);
  });

});
