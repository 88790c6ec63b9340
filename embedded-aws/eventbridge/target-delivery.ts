/**
 * Delivery to targets: asynchronous, retried with back-off on the virtual clock, and dead-lettered
 * (or dropped, when the target has no dead-letter queue) once the target's RetryPolicy is spent.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import { AwsServiceError, type FaultInjector, type JsonObject } from '../protocol.ts';
import type { EventBridgeEvent, RuleTarget } from './event-bridge-event.ts';

/** Hands one event to one target (starts a state machine, invokes a function...). Rejecting means "not delivered". */
export type TargetInvoker = (target: RuleTarget, event: EventBridgeEvent) => Promise<void>;

/**
 * Rejecting with this lets the invoker say whether a retry could help. EventBridge sends failures
 * such as a missing permission or a target that no longer exists straight to the dead-letter queue,
 * without retrying (User Guide, "Event retry policy and using dead-letter queues").
 */
export class TargetInvocationError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean } = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}

export type ExhaustedRetryCondition = 'MaximumRetryAttemptsExhausted' | 'MaximumEventAgeExhausted';

/** An event that never reached a target, with the message attributes a real EventBridge DLQ message carries. */
export interface FailedDelivery {
  /** `dead-lettered`: kept in the target's dead-letter queue; `dropped`: the target had none, AWS would have lost it. */
  disposition: 'dead-lettered' | 'dropped';
  deadLetterQueueArn?: string;
  event: EventBridgeEvent;
  target: RuleTarget;
  /** Delivery attempts made, the first one included. */
  attempts: number;
  failedAt: string;
  attributes: {
    ERROR_CODE: string;
    ERROR_MESSAGE: string;
    /** Absent when the error was not retryable. */
    EXHAUSTED_RETRY_CONDITION?: ExhaustedRetryCondition | 'EmbeddedEventBridgeClosed';
    RETRY_ATTEMPTS: number;
    RULE_ARN: string;
    TARGET_ARN: string;
  };
}

export interface TargetDeliveryOptions {
  clock: Clock;
  deliver: TargetInvoker;
  faults?: FaultInjector;
  deadLetterFile?: string;
  queues?: { send(queueArn: string, body: JsonObject, attributes: Record<string, string | number>): void };
  log: (line: string) => void;
  random: () => number;
  deliveryLatencyMs: number;
}

const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185;
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400;
// EventBridge documents "exponential back off and jitter" but not its constants. Doubling from one
// second up to eight minutes makes 185 retries span about 24 hours, which is what its defaults pair.
const FIRST_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 8 * 60_000;

export class TargetDelivery {
  readonly failed: FailedDelivery[] = [];
  /** Aborted on close: deliveries still waiting are recorded as failed. */
  readonly shutdown = new AbortController();
  private readonly deliveries: BackgroundWork;
  private deadLetterFileWrites: Promise<void> = Promise.resolve();

  private readonly options: TargetDeliveryOptions;

  constructor(options: TargetDeliveryOptions) {
    this.options = options;
    this.deliveries = new BackgroundWork((error) => options.log(`[events] delivery bookkeeping failed: ${String(error)}`), options.clock.activity);
  }

  /** Starts delivering one event to one target of a rule; PutEvents does not wait for it. */
  start(ruleArn: string, target: RuleTarget, event: EventBridgeEvent): void {
    this.deliveries.track(`delivery to ${target.Arn}`, () => this.deliverWithRetries(ruleArn, { ...target }, event));
  }

  get busy(): boolean {
    return this.deliveries.busy;
  }

  async settled(): Promise<void> {
    await this.deliveries.settled();
    await this.deadLetterFileWrites;
  }

  private async deliverWithRetries(ruleArn: string, target: RuleTarget, event: EventBridgeEvent): Promise<void> {
    const { clock } = this.options;
    // PutEvents answers before any target sees the event, after a modelled latency if declared.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.options.deliveryLatencyMs > 0) await clock.sleep(this.options.deliveryLatencyMs);
    const receivedAt = clock.now().getTime();
    const maximumRetries = target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS;
    const maximumAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS) * 1000;
    let retries = 0;
    for (;;) {
      if (this.shutdown.signal.aborted) {
        const error = { code: 'EmbeddedEventBridgeClosed', message: 'the embedded EventBridge closed before the event was delivered' };
        await this.recordFailure(ruleArn, target, event, error, retries, 'EmbeddedEventBridgeClosed');
        return;
      }
      let failure: { code: string; message: string; retryable: boolean };
      try {
        const fault = this.options.faults?.({
          service: 'events',
          operation: 'InvokeTarget',
          input: { Rule: ruleArn, Id: target.Id, Arn: target.Arn, EventId: event.id },
          region: event.region,
        });
        if (fault) throw fault;
        await this.options.deliver(target, event);
        return;
      } catch (error) {
        failure = describeFailure(error);
      }
      if (!failure.retryable) {
        await this.recordFailure(ruleArn, target, event, failure, retries, undefined);
        return;
      }
      if (retries >= maximumRetries) {
        await this.recordFailure(ruleArn, target, event, failure, retries, 'MaximumRetryAttemptsExhausted');
        return;
      }
      const delay = this.retryDelay(retries);
      if (clock.now().getTime() + delay - receivedAt > maximumAgeMs) {
        await this.recordFailure(ruleArn, target, event, failure, retries, 'MaximumEventAgeExhausted');
        return;
      }
      await clock.sleep(delay, this.shutdown.signal);
      // Timers can wake late; an event that has meanwhile outlived its maximum age is not attempted.
      if (!this.shutdown.signal.aborted && clock.now().getTime() - receivedAt > maximumAgeMs) {
        await this.recordFailure(ruleArn, target, event, failure, retries, 'MaximumEventAgeExhausted');
        return;
      }
      retries++;
    }
  }

  /** Exponential back-off with "equal jitter": half the delay is fixed, half random. */
  private retryDelay(retries: number): number {
    const ceiling = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** retries);
    return Math.round(ceiling / 2 + (this.options.random() * ceiling) / 2);
  }

  private async recordFailure(
    ruleArn: string,
    target: RuleTarget,
    event: EventBridgeEvent,
    error: { code: string; message: string },
    retries: number,
    condition: FailedDelivery['attributes']['EXHAUSTED_RETRY_CONDITION'],
  ): Promise<void> {
    const { log, queues, deadLetterFile } = this.options;
    const queueArn = target.DeadLetterConfig?.Arn;
    const failure: FailedDelivery = {
      disposition: queueArn ? 'dead-lettered' : 'dropped',
      ...(queueArn ? { deadLetterQueueArn: queueArn } : {}),
      event,
      target,
      attempts: retries + 1,
      failedAt: this.options.clock.now().toISOString(),
      attributes: {
        ERROR_CODE: error.code,
        ERROR_MESSAGE: error.message,
        ...(condition ? { EXHAUSTED_RETRY_CONDITION: condition } : {}),
        RETRY_ATTEMPTS: retries,
        RULE_ARN: ruleArn,
        TARGET_ARN: target.Arn,
      },
    };
    this.failed.push(failure);
    if (queueArn) queues?.send(queueArn, event as unknown as JsonObject, failure.attributes);
    const where = queueArn
      ? `kept in dead-letter queue ${queueArn}`
      : 'dropped: the target has no DeadLetterConfig, so AWS would have discarded it (kept in droppedDeliveries())';
    log(
      `[events] event ${event.id} (${event.source} "${event['detail-type']}") not delivered to ${target.Arn} after ${failure.attempts} attempt(s): ${error.code}: ${error.message}; ${where}`,
    );
    if (deadLetterFile) {
      this.deadLetterFileWrites = this.deadLetterFileWrites
        .then(async () => {
          await mkdir(dirname(deadLetterFile), { recursive: true });
          await appendFile(deadLetterFile, `${JSON.stringify(failure)}\n`);
        })
        .catch((writeError: unknown) => log(`[events] could not append to dead-letter file ${deadLetterFile}: ${String(writeError)}`));
      await this.deadLetterFileWrites;
    }
  }
}

function describeFailure(error: unknown): { code: string; message: string; retryable: boolean } {
  if (error instanceof TargetInvocationError) return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof AwsServiceError) return { code: error.code, message: error.message, retryable: true };
  if (error instanceof Error) return { code: error.name, message: error.message, retryable: true };
  return { code: 'Error', message: String(error), retryable: true };
}
