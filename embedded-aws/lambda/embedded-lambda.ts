import { randomUUID } from 'node:crypto';
import type { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import type { LocalFunctionDeployment, LocalSqsEventSourceMapping } from '../deployment/local-deployment.ts';
import type { FaultInjector, JsonObject } from '../protocol.ts';
import type { RequestMeter } from '../request-meter.ts';
import { runInvocation } from './invocation-store.ts';
import { LambdaFunctionError, invokeForResult, loadHandler, type LambdaHandler, type LocalFunction } from './local-functions.ts';
import { SqsEventSource, type EventSourceQueues, type MappedFunction } from './sqs-event-source.ts';

let environments = 0;

/** The SQS queues on-failure destinations name (the embedded SQS). */
export interface OnFailureQueues {
  send(queueArn: string, body: JsonObject): void;
}

// Lambda retries a failed asynchronous invocation after about one minute, then after about two.
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];
// A throttled asynchronous event goes back to Lambda's internal queue, retried with backoff (up to
// five minutes apart) until its maximum event age; throttles are not retry attempts.
const THROTTLED_RETRY_FIRST_MS = 1_000;
const THROTTLED_RETRY_MAX_MS = 300_000;

/**
 * Lambda's answer when a function's reserved concurrency is all in use; Step Functions names it
 * Lambda.TooManyRequestsException (Reason: ReservedFunctionConcurrentInvocationLimitExceeded).
 */
export class ThrottledInvocation extends LambdaFunctionError {
  constructor() {
    super('Lambda.TooManyRequestsException', 'Rate Exceeded.', []);
  }
}

/**
 * Lambda for the embedded AWS: the functions serverless.yml declares, run in-process. Synchronous
 * invocations (Step Functions tasks) return the result or Lambda's error; asynchronous ones
 * (EventBridge targets) are accepted at once, retried as Lambda retries them, and finally sent to
 * the function's on-failure destination in Lambda's destination record format. Functions with
 * `sqs` events are invoked with batches from their queues (see sqs-event-source.ts); a function's
 * reserved concurrency bounds its invocations from every source at once.
 */
export class EmbeddedLambda {
  private readonly functions = new Map<string, LocalFunctionDeployment>();
  private readonly handlers = new Map<string, Promise<LambdaHandler>>();
  private readonly asyncInvocations: BackgroundWork;
  /** Invocations a caller waits on (a Task state's): running work, for whoever waits for quiet. */
  private synchronousInFlight = 0;
  private readonly projectRoot: string;
  private readonly clock: Clock;
  private readonly modelledDurationMs: number;
  /** Which execution environment this embedded Lambda loads its handlers into (see loadHandler). */
  private readonly environment = ++environments;
  private readonly deadLetters: OnFailureQueues;
  private readonly shutdown = new AbortController();
  private readonly log: (line: string) => void;
  private readonly invocations: InvokeStoreBase;
  private readonly faults: FaultInjector | undefined;
  private readonly meter: RequestMeter | undefined;
  /** Batches delivered from SQS queues: work, for whoever waits for quiet. */
  private readonly eventSourceDeliveries: BackgroundWork;
  private readonly eventSources: SqsEventSource[] = [];
  /** Invocations running now, by function ARN, and who waits for one to end. */
  private readonly running = new Map<string, number>();
  private readonly slotWaiters = new Map<string, Set<() => boolean>>();

  constructor(options: {
    projectRoot: string;
    clock: Clock;
    functions: LocalFunctionDeployment[];
    deadLetters: OnFailureQueues;
    /** The runtime's per-invocation store: see invocation-store.ts. */
    invocations: InvokeStoreBase;
    faults?: FaultInjector;
    /** Told of every Invoke, accepted or refused, whoever invokes (Step Functions, EventBridge, a retry). */
    meter?: RequestMeter;
    log?: (line: string) => void;
    /** How long each invocation takes in virtual time; handlers' own work takes none. */
    modelledDurationMs?: number;
  }) {
    this.modelledDurationMs = options.modelledDurationMs ?? 0;
    this.faults = options.faults;
    this.meter = options.meter;
    this.projectRoot = options.projectRoot;
    this.invocations = options.invocations;
    this.clock = options.clock;
    this.deadLetters = options.deadLetters;
    this.log = options.log ?? ((line) => console.warn(line));
    this.asyncInvocations = new BackgroundWork((error) => this.log(`[lambda] asynchronous invocation bookkeeping failed: ${String(error)}`), options.clock.activity);
    this.eventSourceDeliveries = new BackgroundWork((error) => this.log(`[lambda] SQS event source bookkeeping failed: ${String(error)}`), options.clock.activity);
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
    const throttled = !fault && !this.tryAcquire(fn);
    // Lambda bills an accepted invocation whether or not the function then fails.
    this.meter?.({ service: 'lambda', operation: 'Invoke', errorCode: fault?.code ?? (throttled ? 'TooManyRequestsException' : undefined), input: { FunctionName: fn.arn } });
    // Step Functions names a failure of the Lambda service itself Lambda.<exception>, e.g.
    // Lambda.TooManyRequestsException, which the erasure state machine retries.
    if (fault) throw new LambdaFunctionError(`Lambda.${fault.code}`, fault.message, []);
    if (throttled) throw new ThrottledInvocation();
    this.synchronousInFlight++;
    try {
      const invocation = async () => {
        const handler = await this.handler(fn);
        const result = await runInvocation(this.invocations, randomUUID(), () => invokeForResult(handler, asLocalFunction(fn), payload, this.clock));
        // The invocation's modelled duration, on the virtual clock (none unless declared).
        if (this.modelledDurationMs > 0) await this.clock.sleep(this.modelledDurationMs);
        return result;
      };
      return await (this.clock.activity?.run(`invocation of ${fn.functionName}`, invocation) ?? invocation());
    } finally {
      this.synchronousInFlight--;
      this.release(fn);
    }
  }

  /**
   * Starts Lambda's event source mappings for the functions' `sqs` events: each polls its queue
   * from now until close(), invoking its function with batches of messages.
   */
  startEventSources(mappings: LocalSqsEventSourceMapping[], queues: EventSourceQueues): void {
    for (const mapping of mappings) {
      const fn = this.function(mapping.functionArn);
      const mapped: MappedFunction = {
        functionName: fn.functionName,
        tryAcquire: () => this.tryAcquire(fn),
        waitForSlot: (deadline) => this.waitForSlot(fn, deadline),
        release: () => this.release(fn),
        invoke: async (event) => {
          const fault = this.faults?.({ service: 'lambda', operation: 'Invoke', input: { FunctionName: fn.arn }, region: fn.arn.split(':')[3] ?? '' });
          this.meter?.({ service: 'lambda', operation: 'Invoke', errorCode: fault?.code, input: { FunctionName: fn.arn } });
          if (fault) throw new LambdaFunctionError(`Lambda.${fault.code}`, fault.message, []);
          const handler = await this.handler(fn);
          return runInvocation(this.invocations, randomUUID(), () => invokeForResult(handler, asLocalFunction(fn), event, this.clock));
        },
      };
      const source = new SqsEventSource({
        mapping,
        queues,
        fn: mapped,
        reservedConcurrency: fn.reservedConcurrency,
        clock: this.clock,
        deliveries: this.eventSourceDeliveries,
        log: this.log,
      });
      this.eventSources.push(source);
      source.start();
    }
  }

  /** Takes one of the function's reserved concurrency, if it reserves any; false when all are in use. */
  private tryAcquire(fn: LocalFunctionDeployment): boolean {
    const running = this.running.get(fn.arn) ?? 0;
    if (fn.reservedConcurrency !== undefined && running >= fn.reservedConcurrency) return false;
    this.running.set(fn.arn, running + 1);
    return true;
  }

  /** Ends an invocation; the first caller waiting for the function takes its place at once. */
  private release(fn: LocalFunctionDeployment): void {
    this.running.set(fn.arn, Math.max(0, (this.running.get(fn.arn) ?? 0) - 1));
    for (const waiter of this.slotWaiters.get(fn.arn) ?? []) if (waiter()) return;
  }

  /**
   * Resolves true once the function has a free invocation, taken; false if `deadline` or close()
   * comes first. The wait on the clock is nobody's work: what holds the slots is.
   */
  private waitForSlot(fn: LocalFunctionDeployment, deadline: Date): Promise<boolean> {
    if (this.tryAcquire(fn)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiters = this.slotWaiters.get(fn.arn) ?? new Set<() => boolean>();
      this.slotWaiters.set(fn.arn, waiters);
      const expiry = new AbortController();
      const waiter = () => {
        if (!this.tryAcquire(fn)) return false;
        waiters.delete(waiter);
        expiry.abort();
        resolve(true);
        return true;
      };
      waiters.add(waiter);
      const sleep = () => this.clock.sleepUntil(deadline, AbortSignal.any([expiry.signal, this.shutdown.signal]));
      void (this.clock.activity?.detached(sleep) ?? sleep()).then(() => {
        if (waiters.delete(waiter)) resolve(false);
      });
    });
  }

  /** Invocation type Event: accepted at once; failures are retried, then sent to the on-failure destination. */
  invokeAsync(functionArnOrName: string, event: unknown): string {
    const fn = this.function(functionArnOrName);
    const requestId = randomUUID();
    this.asyncInvocations.track(`asynchronous invocation of ${fn.functionName}`, () => this.runAsync(fn, event, requestId));
    return requestId;
  }

  /** True while an invocation runs, an asynchronous one waits to be retried, or a batch from SQS is delivered. */
  get busy(): boolean {
    return this.asyncInvocations.busy || this.synchronousInFlight > 0 || this.eventSourceDeliveries.busy;
  }

  async idle(): Promise<void> {
    do {
      await this.asyncInvocations.settled();
      await this.eventSourceDeliveries.settled();
    } while (this.asyncInvocations.busy || this.eventSourceDeliveries.busy);
  }

  async close(): Promise<void> {
    for (const source of this.eventSources) source.stop();
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
        await this.invokeThroughThrottles(fn, event, acceptedAt);
        return;
      } catch (error) {
        failure = LambdaFunctionError.from(error);
        if (error instanceof ThrottledInvocation) break;
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

  /** invoke(), retrying while the function is throttled until the event's maximum age; then the throttle. */
  private async invokeThroughThrottles(fn: LocalFunctionDeployment, event: unknown, acceptedAt: number): Promise<void> {
    for (let delayMs = THROTTLED_RETRY_FIRST_MS; ; delayMs = Math.min(delayMs * 2, THROTTLED_RETRY_MAX_MS)) {
      try {
        await this.invoke(fn.arn, event);
        return;
      } catch (error) {
        if (!(error instanceof ThrottledInvocation)) throw error;
        await this.clock.sleep(delayMs, this.shutdown.signal);
        if (this.shutdown.signal.aborted || this.clock.now().getTime() - acceptedAt > fn.maximumEventAgeSeconds * 1000) throw error;
      }
    }
  }

  private function(functionArnOrName: string): LocalFunctionDeployment {
    const fn = this.functions.get(functionArnOrName.replace(/:\$LATEST$/, ''));
    if (!fn) throw new LambdaFunctionError('ResourceNotFoundException', `Function not found: ${functionArnOrName}`, []);
    return fn;
  }

  private handler(fn: LocalFunctionDeployment): Promise<LambdaHandler> {
    let handler = this.handlers.get(fn.arn);
    if (!handler) {
      handler = loadHandler(this.projectRoot, fn.handler, this.environment);
      this.handlers.set(fn.arn, handler);
    }
    return handler;
  }
}

function asLocalFunction(fn: LocalFunctionDeployment): LocalFunction {
  return { key: fn.key, functionName: fn.functionName, handler: fn.handler, arn: fn.arn, timeoutSeconds: fn.timeoutSeconds };
}
