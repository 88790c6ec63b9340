import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { AwsServiceError, type JsonObject } from '../protocol.ts';

/**
 * The callback pattern (`.waitForTaskToken`): a Task hands a token to someone else (an SQS message,
 * a Lambda invocation) and waits until SendTaskSuccess or SendTaskFailure names it, or until its
 * TimeoutSeconds (or TimeoutSecondsPath) runs out on the virtual clock, which fails it with
 * States.Timeout as Step Functions does. HeartbeatSeconds is not modelled: SendTaskHeartbeat only
 * tells whether the task still waits.
 *
 * aws-local-stepfunctions knows no `$$.Task.Token`, so the definition it runs carries a placeholder
 * where the token goes (see virtual-time.ts), replaced here once the token exists.
 */
export const TASK_TOKEN_PLACEHOLDER = 'embedded-aws:task-token';
/** Where a rewritten Task carries the seconds its TimeoutSecondsPath selected. */
export const TIMEOUT_SECONDS_FIELD = 'embedded-aws:timeout-seconds';

interface PendingTask {
  executionArn: string;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

export class TaskTokens {
  private readonly pending = new Map<string, PendingTask>();
  private readonly settled = new Set<string>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /**
   * Starts the Task with a fresh token in its parameters (`start` sends the message or invokes the
   * function) and resolves with the output SendTaskSuccess gives.
   */
  async wait(options: {
    executionArn: string;
    parameters: unknown;
    timeoutSeconds: number | undefined;
    signal: AbortSignal;
    start: (parameters: unknown) => Promise<void>;
  }): Promise<unknown> {
    const token = randomBytes(96).toString('base64');
    const answered = new Promise<unknown>((resolve, reject) => this.pending.set(token, { executionArn: options.executionArn, resolve, reject }));
    const timing = new AbortController();
    try {
      await options.start(withTaskToken(options.parameters, token));
      const waits: Promise<unknown>[] = [answered, aborted(options.signal)];
      if (options.timeoutSeconds !== undefined) waits.push(this.timeout(options.timeoutSeconds, AbortSignal.any([options.signal, timing.signal])));
      return await Promise.race(waits);
    } finally {
      timing.abort();
      this.pending.delete(token);
      this.settled.add(token);
    }
  }

  succeed(input: JsonObject): JsonObject {
    const task = this.task(input.taskToken);
    let output: unknown;
    try {
      output = JSON.parse(String(input.output));
    } catch {
      throw new AwsServiceError('InvalidOutput', 'Invalid State Machine Execution Output');
    }
    task.resolve(output);
    return {};
  }

  fail(input: JsonObject): JsonObject {
    const task = this.task(input.taskToken);
    const error = new Error(typeof input.cause === 'string' ? input.cause : '');
    error.name = typeof input.error === 'string' ? input.error : '';
    task.reject(error);
    return {};
  }

  heartbeat(input: JsonObject): JsonObject {
    this.task(input.taskToken);
    return {};
  }

  private task(token: unknown): PendingTask {
    if (typeof token !== 'string' || token.length < 1 || token.length > 2048) throw new AwsServiceError('InvalidToken', 'Invalid Task Token');
    const task = this.pending.get(token);
    if (task) return task;
    if (this.settled.has(token)) throw new AwsServiceError('TaskTimedOut', 'Task Timed Out');
    throw new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');
  }

  private async timeout(seconds: number, signal: AbortSignal): Promise<never> {
    await this.clock.sleep(seconds * 1000, signal);
    if (signal.aborted) return new Promise<never>(() => undefined);
    const error = new Error(`no SendTaskSuccess or SendTaskFailure within ${seconds} seconds`);
    error.name = 'States.Timeout';
    throw error;
  }
}

/** The seconds a Task's TimeoutSecondsPath selected, taken out of its parameters. */
export function takeTimeoutSeconds(parameters: unknown): { parameters: unknown; timeoutSeconds: number | undefined } {
  if (parameters === null || typeof parameters !== 'object' || !(TIMEOUT_SECONDS_FIELD in parameters)) return { parameters, timeoutSeconds: undefined };
  const { [TIMEOUT_SECONDS_FIELD]: seconds, ...rest } = parameters as Record<string, unknown>;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1) {
    const error = new Error(`TimeoutSecondsPath selected ${JSON.stringify(seconds)}, not a positive integer`);
    error.name = 'States.Runtime';
    throw error;
  }
  return { parameters: rest, timeoutSeconds: seconds };
}

/** A callback Task's parameters with the token where its definition put `$$.Task.Token`. */
export function withTaskToken(value: unknown, token: string): unknown {
  if (value === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((item) => withTaskToken(item, token));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withTaskToken(item, token)]));
  }
  return value;
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    const stop = () => {
      const error = new Error('the execution was stopped');
      error.name = 'States.Aborted';
      reject(error);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
