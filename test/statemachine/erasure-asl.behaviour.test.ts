import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allStates } from '../../embedded-aws/stepfunctions/definition.ts';
import { classifyFailure } from '../../functions/lib/aws/failures.ts';
import { FALLBACK_SLACK_SECONDS } from '../../functions/lib/erasure/deletion-verification.ts';
import { ERASURE_INPUT, erasureDefinition, runErasure, type ErasureRun, type RunOptions } from '../support/erasure-run.ts';
import { KmsDouble, kmsInternalError, throttled } from '../support/kms-double.ts';
import { ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, useFunctionEnvironment } from '../support/settings.ts';

/**
 * What the definition's waits, Retries and timeouts promise (erasure-asl.test.ts reads them), seen
 * by running the machine: the handlers' clock, which the harness moves through every timeout (and,
 * given a jitter, every retry's backoff) as the embedded Step Functions does, stamps each Task
 * attempt, as an execution history's timestamps would.
 */
const START = new Date('2026-11-20T10:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// The longest a retry may back off (MaxDelaySeconds): however long AWS has been failing, an
// erasure looks again within two minutes of the failure.
const RETRY_DELAY_CAP_MS = 120_000;
// Step Functions retries a state at most this many times (MaxAttempts) before the Catch takes it.
const RETRIES = 8;
// Full jitter's draws, one a retry: the longest backoff each time but the second, which draws nothing.
const DRAWS = [1, 0, 1, 1, 1, 1, 1, 1];

const input = ERASURE_INPUT;

beforeAll(async () => {
  useFunctionEnvironment();
  // serverless.yml resolved once, before the first test's clock starts.
  await erasureDefinition();
});

/** Throttling and a 5xx in turn, named as the handlers name them for the state machine's Retry. */
function transientFailures(count: number): Error[] {
  return Array.from({ length: count }, (_, index) => classifyFailure(index % 2 === 0 ? throttled() : kmsInternalError()) as Error);
}

/** SendMessage failures in turn, named as Step Functions names an SQS integration's errors. */
function sendMessageFailures(count: number): Error[] {
  return Array.from({ length: count }, (_, index) =>
    Object.assign(new Error(index % 2 === 0 ? 'We encountered an internal error. Please try again.' : 'Unable to execute HTTP request'), {
      name: index % 2 === 0 ? 'SQS.InternalError' : 'SQS.SdkClientException',
    }),
  );
}

function drawing(values: number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length] ?? 1;
}

const attemptsOf = (run: ErasureRun, state: string) => run.attempts.filter((attempt) => attempt.state === state);

/** How long the machine backed off before each retry of a state: from one attempt's end to the next one's start. */
function backoffs(run: ErasureRun, state: string): number[] {
  const attempts = attemptsOf(run, state);
  return attempts.slice(1).map((attempt, index) => attempt.startedAt.getTime() - (attempts[index]?.endedAt.getTime() ?? NaN));
}

describe('the erasure state machine definition, run', () => {
  let kms: KmsDouble;
  beforeEach(() => {
    kms = new KmsDouble({ deleteWhenDue: true });
  });
  afterEach(() => kms.restore());

  it("looks for itself when the erasure computed: a day's slack past the deletion date when KMS's event never comes, then when each check said", async () => {
    kms.restore();
    kms = new KmsDouble({ deleteWhenDue: true, deletionLagMs: 30 * HOUR });
    kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START });

    expect(run.status).toBe('SUCCEEDED');
    const deletionDate = Date.parse(String(run.notifications[0]?.message.deletionDate));
    // When the machine came to each check, before the harness lets the check see any later time.
    const checks = attemptsOf(run, 'CheckDeletion').map((attempt) => attempt.startedAt.getTime());
    const expected = [deletionDate + FALLBACK_SLACK_SECONDS * 1000, ...run.verifications.slice(0, -1).map((check) => Date.parse(check.nextCheckAt ?? ''))];
    // KMS deleted the key 30 hours late: the first look finds it pending, so there is a second.
    expect(checks).toHaveLength(2);
    // Whole seconds: a Task's timeout is counted in them, rounded up.
    checks.forEach((checkedAt, index) => {
      expect(checkedAt - (expected[index] ?? NaN)).toBeGreaterThanOrEqual(0);
      expect(checkedAt - (expected[index] ?? NaN)).toBeLessThan(1000);
    });
  });

  describe('retries throttling and 5xx on every Lambda task, backing off by full jitter up to two minutes', () => {
    type Scenario = (kms: KmsDouble) => { options?: Partial<RunOptions>; ends: Pick<ErasureRun, 'status' | 'error'>; notifications: [string, string][] };
    const completes: Scenario = (kms) => {
      kms.addKey({ subjectId: 'user-1' });
      return { ends: { status: 'SUCCEEDED' }, notifications: [[ERASURE_TOPIC_ARN, 'scheduled'], [ERASURE_TOPIC_ARN, 'completed']] };
    };
    const cancelled: Scenario = (kms) => {
      const key = kms.addKey({ subjectId: 'user-1' });
      return {
        options: { beforeCheck: (checksSoFar) => checksSoFar === 0 && kms.cancelDeletion(key) },
        ends: { status: 'SUCCEEDED' },
        notifications: [[ERASURE_TOPIC_ARN, 'scheduled'], [ERASURE_TOPIC_ARN, 'cancelled'], [ONCALL_TOPIC_ARN, 'cancelled']],
      };
    };
    const refused: Scenario = (kms) => {
      kms.addKey({ alias: 'alias/erasure/subject/user-1', tags: { 'erasure:subject': 'user-2' } });
      return { ends: { status: 'FAILED', error: 'KeyNotOwnedBySubject' }, notifications: [[ERASURE_TOPIC_ARN, 'failed'], [ONCALL_TOPIC_ARN, 'failed']] };
    };
    // The erasure that reaches each Lambda task.
    const reaching: Record<string, Scenario> = {
      ResolveKeys: completes,
      NotifyScheduled: completes,
      CheckDeletion: completes,
      NotifyCompleted: completes,
      NotifyCancelled: cancelled,
      NotifyFailed: refused,
    };

    it('covers every Lambda task of the definition', async () => {
      const definition = await erasureDefinition();
      const lambdaTasks = [...allStates(definition)].filter(([, state]) => state.Type === 'Task' && String(state.Resource).startsWith('arn:aws:lambda:'));
      expect(Object.keys(reaching).sort()).toEqual(lambdaTasks.map(([name]) => name).sort());
    });

    it.each(Object.keys(reaching))('retries %s through eight failures, and the erasure ends as it would have without them', async (state) => {
      const scenario = (reaching[state] as Scenario)(kms);
      const run = await runErasure(input, { start: START, ...scenario.options, failAttempts: { [state]: transientFailures(RETRIES) }, retryJitter: drawing(DRAWS) });

      expect(run).toMatchObject(scenario.ends);
      expect(run.notifications.map((notification) => [notification.topicArn, notification.kind])).toEqual(scenario.notifications);
      expect(attemptsOf(run, state).map((attempt) => attempt.error)).toEqual([...transientFailures(RETRIES).map((failure) => failure.name), undefined]);
      const delays = backoffs(run, state);
      expect(Math.max(...delays)).toBe(RETRY_DELAY_CAP_MS);
      // The second draw was nothing: full jitter spreads a backoff from nothing up to its length.
      expect(delays[1]).toBe(0);
    });
  });

  it('retries a check KMS throttles and answers with a 5xx, and completes', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, {
      start: START,
      retryJitter: drawing([1]),
      beforeCheck: (checksSoFar) => checksSoFar === 0 && kms.failNext('DescribeKey', throttled(), kmsInternalError()),
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(attemptsOf(run, 'CheckDeletion').map((attempt) => attempt.error)).toEqual(['ThrottlingException', 'AwsServerError', undefined]);
    expect(kms.keys.has(key.keyId)).toBe(false);
    expect(run.notifications.at(-1)?.kind).toBe('completed');
  });

  it('retries handing the keys to the key erasure queue through eight SendMessage failures, backing off by full jitter up to two minutes, and delivers them once', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START, failAttempts: { EraseKeysAtQuotaPace: sendMessageFailures(RETRIES) }, retryJitter: drawing(DRAWS) });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.receives).toEqual([1]);
    expect(kms.keys.has(key.keyId)).toBe(false);
    expect(attemptsOf(run, 'EraseKeysAtQuotaPace')).toHaveLength(RETRIES + 1);
    const delays = backoffs(run, 'EraseKeysAtQuotaPace');
    expect(Math.max(...delays)).toBe(RETRY_DELAY_CAP_MS);
    expect(delays[1]).toBe(0);
  });

  it('gives up on the key erasure queue a day after handing it the keys when nobody answers, touching no key and telling on-call', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const run = await runErasure(input, { start: START, queueUnanswered: true });

    expect(run).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(key.keyState).toBe('Enabled');
    expect(run.notifications.map((notification) => [notification.topicArn, notification.kind])).toEqual([
      [ERASURE_TOPIC_ARN, 'failed'],
      [ONCALL_TOPIC_ARN, 'failed'],
    ]);
    const [handedOver] = attemptsOf(run, 'EraseKeysAtQuotaPace');
    const [toldOnCall] = attemptsOf(run, 'NotifyFailed');
    expect((toldOnCall?.startedAt.getTime() ?? NaN) - (handedOver?.startedAt.getTime() ?? NaN)).toBe(DAY);
  });
});
