import { randomUUID } from 'node:crypto';
import type { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import type { LocalFunctionDeployment } from '../deployment/local-deployment.ts';
import type { FaultInjector, JsonObject } from '../protocol.ts';
import { runInvocation } from './invocation-store.ts';
import { LambdaFunctionError, invokeForResult, loadHandler, type LambdaHandler, type LocalFunction } from './local-functions.ts';

/** The SQS queues on-failure destinations name (the embedded SQS). */
export interface OnFailureQueues {
  send(queueArn: string, body: JsonObject): void;
}

// Lambda retries a failed asynchronous invocation after about one minute, then after about two.
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

/**
 * Lambda for the embedded AWS: the functions serverless.yml declares, run in-process. Synchronous
 * invocations (Step Functions tasks) return the result or Lambda's error; asynchronous ones
 * (EventBridge targets) are accepted at once, retried as Lambda retries them, and finally sent to
 * the function's on-failure destination in Lambda's destination record format.
 */
export class EmbeddedLambda {
  private readonly functions = new Map<string, LocalFunctionDeployment>();
  private readonly handlers = new Map<string, Promise<LambdaHandler>>();
  private readonly asyncInvocations: BackgroundWork;
  /** Invocations a caller waits on (a Task state's): running work, for whoever waits for quiet. */
  private synchronousInFlight = 0;
  private readonly projectRoot: string;
  private readonly clock: Clock;
  private readonly deadLetters: OnFailureQueues;
  private readonly shutdown = new AbortController();
  private readonly log: (line: string) => void;
  private readonly invocations: InvokeStoreBase;
  private readonly faults: FaultInjector | undefined;

  constructor(options: {
    projectRoot: string;
    clock: Clock;
    functions: LocalFunctionDeployment[];
    deadLetters: OnFailureQueues;
    /** The runtime's per-invocation store: see invocation-store.ts. */
    invocations: InvokeStoreBase;
    faults?: FaultInjector;
    log?: (line: string) => void;
  }) {
    this.faults = options.faults;
    this.projectRoot = options.projectRoot;
    this.invocations = options.invocations;
    this.clock = options.clock;
    this.deadLetters = options.deadLetters;
    this.log = options.log ?? ((line) => console.warn(line));
    this.asyncInvocations = new BackgroundWork((error) => this.log(`[lambda] asynchronous invocation bookkeeping failed: ${String(error)}`));
    for (const fn of options.functions) {
      this.functions.set(fn.arn, fn);
      this.functions.set(fn.functionName, fn);
    }
  }

  has(functionArnOrName: string): boolean {
    return this.functions.has(functionArnOrName);
  }

  /** Invocation type RequestResponse: resolves with the function's result, rejects with LambdaFunctionError. */
  async invoke(functionArnOrName: string, payload: unknown): Promise<unknown> {
    const fn = this.function(functionArnOrName);
    const fault = this.faults?.({ service: 'lambda', operation: 'Invoke', input: { FunctionName: fn.arn }, region: fn.arn.split(':')[3] ?? '' });
    // Step Functions names a failure of the Lambda service itself Lambda.<exception>, e.g.
    // Lambda.TooManyRequestsException, which the erasure state machine retries.
    if (fault) throw new LambdaFunctionError(`Lambda.${fault.code}`, fault.message, []);
    this.synchronousInFlight++;
    try {
      const handler = await this.handler(fn);
      return await runInvocation(this.invocations, randomUUID(), () => invokeForResult(handler, asLocalFunction(fn), payload));
    } finally {
      this.synchronousInFlight--;
    }
  }

  /** Invocation type Event: accepted at once; failures are retried, then sent to the on-failure destination. */
  invokeAsync(functionArnOrName: string, event: unknown): string {
    const fn = this.function(functionArnOrName);
    const requestId = randomUUID();
    this.asyncInvocations.track(this.runAsync(fn, event, requestId));
    return requestId;
  }

  /** True while an asynchronous invocation is running or waiting to be retried. */
  get busy(): boolean {
    return this.asyncInvocations.busy || this.synchronousInFlight > 0;
  }

  async idle(): Promise<void> {
    await this.asyncInvocations.settled();
  }

  async close(): Promise<void> {
    this.shutdown.abort();
    await this.idle();
  }

  private async runAsync(fn: LocalFunctionDeployment, event: unknown, requestId: string): Promise<void> {
    const acceptedAt = this.clock.now().getTime();
    let failure: LambdaFunctionError | undefined;
    let attempts = 0;
    for (let attempt = 0; attempt <= fn.maximumRetryAttempts; attempt++) {
      if (attempt > 0) {
        await this.clock.sleep(ASYNC_RETRY_DELAYS_MS[attempt - 1] ?? 120_000, this.shutdown.signal);
        if (this.shutdown.signal.aborted) break;
        if (this.clock.now().getTime() - acceptedAt > fn.maximumEventAgeSeconds * 1000) break;
      }
      attempts++;
      try {
        await this.invoke(fn.arn, event);
        return;
      } catch (error) {
        failure = LambdaFunctionError.from(error);
      }
    }
    const condition = attempts > fn.maximumRetryAttempts ? 'RetriesExhausted' : 'EventAgeExceeded';
    this.log(`[lambda] ${fn.functionName} failed ${attempts} time(s) on an asynchronous event: ${failure?.errorType}: ${failure?.errorMessage}`);
    if (!fn.onFailureDestination) {
      this.log(`[lambda] ${fn.functionName} has no on-failure destination: AWS would discard this event`);
      return;
    }
    this.deadLetters.send(fn.onFailureDestination, {
      version: '1.0',
      timestamp: this.clock.now().toISOString(),
      requestContext: { requestId, functionArn: `${fn.arn}:$LATEST`, condition, approximateInvokeCount: attempts },
      requestPayload: event as never,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: failure?.errorType ?? 'Error', errorMessage: failure?.errorMessage ?? '', trace: [] },
    });
  }

  private function(functionArnOrName: string): LocalFunctionDeployment {
    const fn = this.functions.get(functionArnOrName.replace(/:\$LATEST$/, ''));
    if (!fn) throw new LambdaFunctionError('ResourceNotFoundException', `Function not found: ${functionArnOrName}`, []);
    return fn;
  }

  private handler(fn: LocalFunctionDeployment): Promise<LambdaHandler> {
    let handler = this.handlers.get(fn.arn);
    if (!handler) {
      handler = loadHandler(this.projectRoot, fn.handler);
      this.handlers.set(fn.arn, handler);
    }
    return handler;
  }
}

function asLocalFunction(fn: LocalFunctionDeployment): LocalFunction {
  return { key: fn.key, functionName: fn.functionName, handler: fn.handler, arn: fn.arn };
}
