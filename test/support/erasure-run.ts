import { SFNClient, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { planDeployment, type LocalDeployment } from '../../embedded-aws/deployment/local-deployment.ts';
import { printServerlessConfig } from '../../embedded-aws/deployment/serverless-print.ts';
import { invokeForResult, loadHandler } from '../../embedded-aws/lambda/local-functions.ts';
import { allStates, type Definition } from '../../embedded-aws/stepfunctions/definition.ts';
import { executionFailure, startLocalRun, type TaskHandler } from '../../embedded-aws/stepfunctions/local-runner.ts';
import { withTimeout } from '../../embedded-aws/stepfunctions/task-integrations.ts';
import { takeTimeoutSeconds, withTaskToken } from '../../embedded-aws/stepfunctions/task-tokens.ts';
import { RetryBackoff, VIRTUAL_WAIT_RESOURCE, onVirtualTime } from '../../embedded-aws/stepfunctions/virtual-time.ts';
import { useTimeSource } from '../../functions/lib/runtime/clock.ts';
import { mockLedgerTable } from './ledger-mock.ts';
import { ACCOUNT_ID, REGION } from './settings.ts';

/**
 * Runs statemachines/erasure.asl.json with aws-local-stepfunctions, wired as the embedded Step
 * Functions wires it (the definition planned by onVirtualTime, run by startLocalRun, callback
 * tokens and TimeoutSecondsPath carried as it carries them), every Task calling the real handler
 * (as serverless.yml wires it, read the way the embedded AWS reads it) over whatever mocked
 * clients the test set up. A callback Task (`.waitForTaskToken`) hands its token over and waits for
 * the SendTaskSuccess or SendTaskFailure of whoever got it: an SQS message is delivered to the
 * function serverless.yml subscribes to that queue (again, after a visibility timeout, while the
 * function returns it); a Lambda invocation is made, and when nothing answers it (no EventBridge
 * here to bring KMS's deletion event), the Task times out after its TimeoutSeconds(Path).
 * Waits take no time; instead the handlers' clock jumps to the instant the Wait (or the timeout)
 * came, so KMS's waiting period passes exactly as the state machine asked, and a handler's sleep
 * (a pacer's, an SDK retry's) moves the clock on. Every Task attempt is stamped on that clock
 * (`attempts`); a test may fail a state's first attempts, have retries back off by a jitter it
 * draws, or leave the key erasure queue unanswered.
 */
const TASK_TOKEN = 'erasure-run-task-token';
const CALLBACK_SQS = 'arn:aws:states:::sqs:sendMessage.waitForTaskToken';
const CALLBACK_LAMBDA = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
// More receives than the worker allows itself (erase-keys.ts), so a run always ends.
const MAX_RECEIVES = 10;
let deployment: Promise<LocalDeployment> | undefined;


/** The input an erasure's execution starts with, as intake hands it over: one subject, no key named in the closure. */
export const ERASURE_INPUT = {
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

/** serverless.yml resolved by osls for the `test` stage, once per test file. */
export function erasureDeployment(): Promise<LocalDeployment> {
  deployment ??= printServerlessConfig(process.cwd(), 'test', REGION).then((config) => planDeployment(config, ACCOUNT_ID));
  return deployment;
}

export async function erasureDefinition(): Promise<Definition> {
  const [machine] = (await erasureDeployment()).stateMachines;
  if (!machine) throw new Error('serverless.yml declares no state machine');
  return machine.definition;
}

export interface PublishedNotification {
  topicArn: string;
  kind: string;
  subject: string;
  message: Record<string, unknown>;
}

export interface ErasureRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  statesEntered: string[];
  notifications: PublishedNotification[];
  /** What each CheckDeletion answered, in order. */
  verifications: { status: string; nextCheckAt: string | null }[];
  /** The types of the ledger events the run recorded, in order. */
  ledger: string[];
  /** How many times each callback Task's message was delivered to its queue's function, in order. */
  receives: number[];
  /** Every attempt of every Task, in order, on the handlers' clock: the execution history's timeline. */
  attempts: TaskAttempt[];
}

export interface TaskAttempt {
  state: string;
  /** When the machine started the attempt: after whatever it waited for (a timeout, a retry's backoff). */
  startedAt: Date;
  /** When the attempt ended, before any backoff. */
  endedAt: Date;
  /** The error the attempt ended with; absent when it succeeded. */
  error?: string;
}

export interface RunOptions {
  /** The handlers' "now" when the execution starts; the clock then jumps through every Wait. */
  start: Date;
  /** Called before each CheckDeletion with how many checks came before it: lets a test act during the waiting period. */
  beforeCheck?: (checksSoFar: number) => void;
  /**
   * Errors the named Task states' first attempts end with, one an attempt, as the state's Lambda
   * function or service integration would answer; the attempts after them run for real.
   */
  failAttempts?: Record<string, Error[]>;
  /**
   * FULL jitter's draw, in [0, 1]. Given, a failed attempt that the state retries backs off on the
   * handlers' clock before the retry, as the embedded Step Functions backs off; without it the
   * runner retries at once.
   */
  retryJitter?: () => number;
  /**
   * Nobody takes the messages of a callback Task's queue (the worker's event source mapping
   * disabled, say): the Task waits out its TimeoutSeconds.
   */
  queueUnanswered?: boolean;
}

export async function runErasure(input: unknown, options: RunOptions): Promise<ErasureRun> {
  const definition = await erasureDefinition();
  const { functions } = await erasureDeployment();
  // A discrete clock: the runner retries at once, and the machine's own TimeoutSeconds (90 days,
  // more than a real timer holds) is left to the embedded AWS's tests, which time it virtually.
  const plan = onVirtualTime(definition, 0);

  let now = options.start;
  const restoreClock = useTimeSource({
    now: () => now,
    sleep: async (ms) => {
      now = new Date(now.getTime() + ms);
    },
  });
  const sfn = mockClient(SFNClient);
  const answers = new Map<string, { output: unknown } | { error: string; cause: string }>();
  sfn.on(SendTaskHeartbeatCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).callsFake((input) => {
    answers.set(input.taskToken, { output: JSON.parse(input.output) });
    return {};
  });
  sfn.on(SendTaskFailureCommand).callsFake((input) => {
    answers.set(input.taskToken, { error: input.error ?? '', cause: input.cause ?? '' });
    return {};
  });
  const receives: number[] = [];
  const sns = mockClient(SNSClient);
  const ledger = mockLedgerTable();
  const notifications: PublishedNotification[] = [];
  sns.on(PublishCommand).callsFake((publish) => {
    notifications.push({
      topicArn: publish.TopicArn,
      kind: publish.MessageAttributes?.eventType?.StringValue ?? '',
      subject: publish.Subject,
      message: JSON.parse(publish.Message),
    });
    return { MessageId: `message-${notifications.length}` };
  });

  const taskHandlers: Record<string, TaskHandler> = {};
  let checks = 0;
  let waitedUntil: string | null = null;
  const verifications: ErasureRun['verifications'] = [];
  for (const [stateName, planned] of allStates(plan.definition)) {
    if (planned.Type !== 'Task') continue;
    // A Wait takes no time: the handlers' clock jumps instead (see CheckDeletion below).
    if (planned.Resource === VIRTUAL_WAIT_RESOURCE) {
      taskHandlers[stateName] = async (payload) => payload;
      continue;
    }
    const state = plan.tasks.get(stateName) ?? planned;
    const token = `${TASK_TOKEN}:${stateName}`;
    if (state.Resource === CALLBACK_SQS) {
      taskHandlers[stateName] = async (payload) => {
        if (options.queueUnanswered) {
          const timeoutSeconds = takeTimeoutSeconds(payload).timeoutSeconds ?? state.TimeoutSeconds;
          if (typeof timeoutSeconds !== 'number') throw new Error(`state ${stateName} waits for an answer nobody gives, with no timeout`);
          now = new Date(now.getTime() + timeoutSeconds * 1000);
          throw Object.assign(new Error(`no SendTaskSuccess or SendTaskFailure within ${timeoutSeconds} seconds`), { name: 'States.Timeout' });
        }
        const message = withTaskToken(takeTimeoutSeconds(payload).parameters, token) as QueueMessage;
        const erased = await deliverToQueue(message, { answers, receives, afterReceive: (ms) => (now = new Date(now.getTime() + ms)) });
        waitedUntil = (erased as { firstCheckAt?: string }).firstCheckAt ?? null;
        return erased;
      };
      continue;
    }
    if (state.Resource === CALLBACK_LAMBDA) {
      taskHandlers[stateName] = async (payload) => {
        const { parameters, timeoutSeconds: selected } = takeTimeoutSeconds(payload);
        const timeoutSeconds = selected ?? state.TimeoutSeconds;
        const { FunctionName, Payload } = withTaskToken(parameters, token) as { FunctionName: string; Payload: { taskToken: string } };
        const fn = functions.find((candidate) => candidate.arn === FunctionName);
        if (!fn) throw new Error(`state ${stateName} invokes ${FunctionName}, which serverless.yml does not declare`);
        answers.delete(Payload.taskToken);
        await invokeForResult(await loadHandler(process.cwd(), fn.handler), fn, Payload);
        const answer = answers.get(Payload.taskToken);
        if (answer && 'output' in answer) return answer.output;
        if (answer) throw Object.assign(new Error(answer.cause), { name: answer.error });
        if (typeof timeoutSeconds !== 'number') throw new Error(`state ${stateName} waits for an answer nobody gives, with no timeout`);
        now = new Date(now.getTime() + timeoutSeconds * 1000);
        throw Object.assign(new Error(`no SendTaskSuccess or SendTaskFailure within ${timeoutSeconds} seconds`), { name: 'States.Timeout' });
      };
      continue;
    }
    const fn = functions.find((candidate) => candidate.arn === state.Resource);
    if (!fn) throw new Error(`state ${stateName} calls ${String(state.Resource)}, which serverless.yml does not declare`);
    const handler = await loadHandler(process.cwd(), fn.handler);
    const invoke = (payload: unknown) => withTimeout(invokeForResult(handler, fn, payload), state.TimeoutSeconds as number | undefined);
    taskHandlers[stateName] = async (payload) => {
      if (stateName !== 'CheckDeletion') return invoke(payload);
      // The check after a Wait happens at the instant the Wait waited for.
      if (waitedUntil) now = new Date(Math.max(now.getTime(), Date.parse(waitedUntil)));
      options.beforeCheck?.(checks++);
      const verification = (await invoke(payload)) as ErasureRun['verifications'][number];
      verifications.push(verification);
      waitedUntil = verification.nextCheckAt;
      return verification;
    };
  }

  const attempts: TaskAttempt[] = [];
  const backoff = options.retryJitter ? new RetryBackoff(options.retryJitter) : undefined;
  const injected = new Map(Object.entries(options.failAttempts ?? {}).map(([stateName, errors]) => [stateName, [...errors]]));
  for (const [stateName, handle] of Object.entries(taskHandlers)) {
    const original = plan.tasks.get(stateName);
    if (!original) continue;
    taskHandlers[stateName] = async (payload) => {
      const attempt: TaskAttempt = { state: stateName, startedAt: now, endedAt: now };
      attempts.push(attempt);
      try {
        const failure = injected.get(stateName)?.shift();
        if (failure) throw failure;
        const result = await handle(payload);
        backoff?.succeeded(stateName, payload);
        attempt.endedAt = now;
        return result;
      } catch (error) {
        attempt.endedAt = now;
        attempt.error = (error as Error).name;
        const delay = backoff?.delayBeforeRetry(original, stateName, payload, error as Error);
        if (delay !== undefined) now = new Date(now.getTime() + delay);
        throw error;
      }
    };
  }

  const ledgerEvents = () => [...ledger.table.rows.values()].flat().map((entry) => entry.event.type);
  const statesEntered: string[] = [];
  const execution = startLocalRun(plan, input, {
    handlers: taskHandlers,
    context: { Execution: { Id: `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:crypto-erasure-test:erasure-test`, Name: 'erasure-test' } },
  });

  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') statesEntered.push(event.state.name);
    }
  })();

  try {
    const output = (await execution.result) as Record<string, unknown>;
    await logging;
    return { status: 'SUCCEEDED', output, statesEntered, notifications, verifications, ledger: ledgerEvents(), receives, attempts };
  } catch (error) {
    await logging.catch(() => undefined);
    const failure = executionFailure(error);
    if (!failure) throw error;
    return { status: 'FAILED', error: failure.name, cause: failure.message, statesEntered, notifications, verifications, ledger: ledgerEvents(), receives, attempts };
  } finally {
    restoreClock();
    sfn.restore();
    sns.restore();
    ledger.documents.restore();
  }
}

interface QueueMessage {
  QueueUrl: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
  MessageBody: { taskToken: string } & Record<string, unknown>;
}

/**
 * What SQS and Lambda's event source mapping do with a callback Task's message: deliver it to the
 * function subscribed to the queue, and again after the queue's visibility timeout for as long as
 * the function returns it (batchItemFailures); then what Step Functions does with the answer.
 */
async function deliverToQueue(
  message: QueueMessage,
  run: { answers: Map<string, { output: unknown } | { error: string; cause: string }>; receives: number[]; afterReceive: (visibilityTimeoutMs: number) => void },
): Promise<unknown> {
  const { queues, functions, eventSourceMappings } = await erasureDeployment();
  const queue = queues.find((candidate) => candidate.url === message.QueueUrl || candidate.arn === message.QueueUrl || candidate.name === message.QueueUrl.split('/').at(-1));
  const mapping = eventSourceMappings.find((candidate) => candidate.queueArn === queue?.arn);
  const fn = functions.find((candidate) => candidate.arn === mapping?.functionArn);
  if (!queue || !fn) throw new Error(`no function in serverless.yml takes messages from ${message.QueueUrl}`);
  const handler = await loadHandler(process.cwd(), fn.handler);
  const visibilityTimeoutMs = Number(queue.attributes.VisibilityTimeout ?? 30) * 1000;
  const token = message.MessageBody.taskToken;
  for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
    run.receives.push(receive);
    const record = {
      messageId: `message-${token}`,
      receiptHandle: `receipt-${receive}`,
      body: JSON.stringify(message.MessageBody),
      attributes: { ApproximateReceiveCount: String(receive), MessageGroupId: message.MessageGroupId, MessageDeduplicationId: message.MessageDeduplicationId },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
    };
    const { batchItemFailures } = (await invokeForResult(handler, fn, { Records: [record] })) as SQSBatchResponse;
    const answer = run.answers.get(token);
    if (answer && 'output' in answer) return answer.output;
    if (answer) throw Object.assign(new Error(answer.cause), { name: answer.error });
    if (batchItemFailures.length === 0) throw new Error(`${fn.key} took the message and answered nothing`);
    run.afterReceive(visibilityTimeoutMs);
  }
  throw new Error(`${fn.key} returned the message ${MAX_RECEIVES} times`);
}
