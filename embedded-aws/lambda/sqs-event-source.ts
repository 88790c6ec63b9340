/**
 * Lambda's event source mapping for an SQS queue, in-process: it receives batches from the queue
 * as Lambda's pollers do, invokes the function synchronously with Lambda's SQS event, and deletes
 * what the function processed. Behaviour follows the Lambda Developer Guide ("Using Lambda with
 * Amazon SQS", "Configuring scaling behavior for SQS event source mappings", "Handling errors for
 * an SQS event source in Lambda"):
 *
 * - A batch the function fails (an error, or with ReportBatchItemFailures an invalid response) is
 *   left in flight: SQS shows it again when its visibility timeout ends, and its redrive policy
 *   moves it to a dead-letter queue after maxReceiveCount receives.
 * - With ReportBatchItemFailures, every message but those the response names is deleted. On a FIFO
 *   queue that is still the function's job to get right: "your function should stop processing
 *   messages after the first failure and return all failed and unprocessed messages".
 * - On a FIFO queue a batch may hold messages of several groups, in order; SQS gives no message of
 *   a group while one is in flight, so one batch per group is at work and groups go in order.
 * - Pollers receive a batch before an invocation is free: when the function's reserved
 *   concurrency is taken, a batch waits (Lambda retries a throttled invocation) until its
 *   visibility timeout ends, then returns to the queue. MaximumConcurrency keeps pollers from
 *   receiving more batches than it allows.
 *
 * Nothing here waits in real time: the queue store calls back when a message arrives or becomes
 * visible again, and the batching window and throttled batches wait on the shared clock.
 */
import type { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import type { LocalSqsEventSourceMapping } from '../deployment/local-deployment.ts';
import type { ReceivedQueueMessage } from '../sqs/embedded-sqs.ts';
import { LambdaFunctionError } from './local-functions.ts';

/** What the mapping asks of the embedded SQS: receive, delete, and hear of changes, in-process. */
export interface EventSourceQueues {
  receiveForConsumer(queueArn: string, max: number): ReceivedQueueMessage[];
  deleteForConsumer(queueArn: string, receiptHandle: string): boolean;
  describeForConsumer(queueArn: string): { visibilityTimeoutSeconds: number; fifo: boolean } | undefined;
  onMessagesChange(queueArn: string, listener: () => void): () => void;
}

/** What the mapping asks of Lambda: the function's concurrency, and an invocation within it. */
export interface MappedFunction {
  functionName: string;
  /** Takes a slot of the function's concurrency now if one is free. */
  tryAcquire(): boolean;
  /** Resolves true once a slot is taken, false if `deadline` comes (or Lambda closes) first. */
  waitForSlot(deadline: Date): Promise<boolean>;
  release(): void;
  /** A synchronous invocation, in a slot already taken; rejects with LambdaFunctionError. */
  invoke(event: SqsEvent): Promise<unknown>;
}

/** The event Lambda invokes a function with for a batch of SQS messages. */
export interface SqsEvent {
  Records: SqsEventRecord[];
}

export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, { stringValue?: string; binaryValue?: string; stringListValues: string[]; binaryListValues: string[]; dataType: string }>;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

// A single ReceiveMessage returns at most 10 messages; bigger batches take several.
const MAX_MESSAGES_PER_RECEIVE = 10;
// "Lambda starts processing five batches at a time", then adds up to 300 pollers a minute while
// messages wait; that scaling is not modelled.
const INITIAL_POLLERS = 5;
// The system attributes of Lambda's SQS records, in the order Lambda gives them.
const RECORD_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'DeadLetterQueueSourceArn',
  'AWSTraceHeader',
];

interface Batch {
  messages: ReceivedQueueMessage[];
  /** When its first message was received: the batch's visibility timeout runs from then. */
  receivedAt: number;
}

export class SqsEventSource {
  private readonly mapping: LocalSqsEventSourceMapping;
  private readonly queues: EventSourceQueues;
  private readonly fn: MappedFunction;
  private readonly clock: Clock;
  private readonly deliveries: BackgroundWork;
  private readonly log: (line: string) => void;
  /**
   * How many batches may be received and not yet done with (gathered, throttled or at work): five,
   * or as many as the reserved concurrency, or MaximumConcurrency, which keeps Lambda from
   * receiving batches it could not invoke.
   */
  private readonly pollers: number;
  private readonly stopped = new AbortController();
  private held = 0;
  private gathering: { batch: Batch; cancel: AbortController } | undefined;
  private pumpScheduled = false;
  private unsubscribe: (() => void) | undefined;

  constructor(options: {
    mapping: LocalSqsEventSourceMapping;
    queues: EventSourceQueues;
    fn: MappedFunction;
    reservedConcurrency: number | undefined;
    clock: Clock;
    /** Where each delivery is tracked, so that whoever waits for quiet waits for it. */
    deliveries: BackgroundWork;
    log: (line: string) => void;
  }) {
    this.mapping = options.mapping;
    this.queues = options.queues;
    this.fn = options.fn;
    this.clock = options.clock;
    this.deliveries = options.deliveries;
    this.log = options.log;
    const reserved = options.reservedConcurrency;
    this.pollers = options.mapping.maximumConcurrency ?? Math.max(INITIAL_POLLERS, reserved ?? 0);
  }

  start(): void {
    if (!this.mapping.enabled) return;
    if (!this.queues.describeForConsumer(this.mapping.queueArn)) {
      this.log(`[lambda] ${this.fn.functionName} cannot poll ${this.mapping.queueArn}: no such queue`);
      return;
    }
    this.unsubscribe = this.queues.onMessagesChange(this.mapping.queueArn, () => this.schedulePump());
    this.schedulePump();
  }

  stop(): void {
    this.stopped.abort();
    this.unsubscribe?.();
    this.gathering?.cancel.abort();
    this.gathering = undefined;
  }

  /**
   * The queue store calls back from within its own change, so polling starts a microtask later;
   * it is tracked from now, so nobody takes the queue for quiet in between.
   */
  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped.signal.aborted) return;
    this.pumpScheduled = true;
    this.deliveries.track(`polling of ${this.queueName()} for ${this.fn.functionName}`, async () => {
      await Promise.resolve();
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Receives batches while pollers are free and the queue gives messages. */
  private pump(): void {
    while (!this.stopped.signal.aborted) {
      if (this.gathering) {
        if (!this.topUpGathering()) return;
        continue;
      }
      if (this.held >= this.pollers) return;
      const receivedAt = this.clock.now().getTime();
      const messages = this.queues.receiveForConsumer(this.mapping.queueArn, Math.min(this.mapping.batchSize, MAX_MESSAGES_PER_RECEIVE));
      if (messages.length === 0) return;
      this.held++;
      if (this.mapping.maximumBatchingWindowSeconds === 0) this.dispatch({ messages, receivedAt });
      else this.startGathering({ messages, receivedAt });
    }
  }

  /**
   * With a batching window, Lambda goes on receiving until the batch is full or the window ends.
   * Waiting for the window is not work in progress: the clock may jump to its end.
   */
  private startGathering(batch: Batch): void {
    const gathering = { batch, cancel: new AbortController() };
    this.gathering = gathering;
    const window = () => this.clock.sleep(this.mapping.maximumBatchingWindowSeconds * 1000, AbortSignal.any([gathering.cancel.signal, this.stopped.signal]));
    void (this.clock.activity?.detached(window) ?? window()).then(() => {
      if (this.gathering !== gathering || this.stopped.signal.aborted) return;
      this.gathering = undefined;
      this.deliveries.track(`batch from ${this.queueName()} for ${this.fn.functionName}`, async () => {
        this.dispatch(batch);
        this.pump();
      });
    });
  }

  /** Adds what the queue gives to the batch being gathered; true once the batch is full and sent on. */
  private topUpGathering(): boolean {
    const gathering = this.gathering;
    if (!gathering) return true;
    const { batch } = gathering;
    while (batch.messages.length < this.mapping.batchSize) {
      const more = this.queues.receiveForConsumer(this.mapping.queueArn, Math.min(this.mapping.batchSize - batch.messages.length, MAX_MESSAGES_PER_RECEIVE));
      if (more.length === 0) break;
      batch.messages.push(...more);
    }
    if (batch.messages.length < this.mapping.batchSize) return false;
    gathering.cancel.abort();
    this.gathering = undefined;
    this.dispatch(batch);
    return true;
  }

  /** Invokes the function with the batch in a free slot of its concurrency, or once one frees. */
  private dispatch(batch: Batch): void {
    if (this.fn.tryAcquire()) {
      this.deliveries.track(`invocation of ${this.fn.functionName} with a batch from ${this.queueName()}`, () => this.deliver(batch));
      return;
    }
    const visibilityTimeoutSeconds = this.queues.describeForConsumer(this.mapping.queueArn)?.visibilityTimeoutSeconds ?? 0;
    const deadline = new Date(batch.receivedAt + visibilityTimeoutSeconds * 1000);
    // A throttled batch waits without being work in progress: what holds the slot is.
    void this.fn.waitForSlot(deadline).then((taken) => {
      if (taken) {
        this.deliveries.track(`invocation of ${this.fn.functionName} with a batch from ${this.queueName()}`, () => this.deliver(batch));
        return;
      }
      if (!this.stopped.signal.aborted) this.log(`[lambda] ${this.fn.functionName} was throttled for a batch of ${batch.messages.length} message(s) from ${this.queueName()}: it returns to the queue`);
      this.finish();
    });
  }

  private async deliver(batch: Batch): Promise<void> {
    try {
      let response: unknown;
      try {
        response = await this.fn.invoke({ Records: batch.messages.map((message) => this.record(message)) });
      } catch (error) {
        const failure = LambdaFunctionError.from(error);
        this.log(
          `[lambda] ${this.fn.functionName} failed on a batch of ${batch.messages.length} message(s) from ${this.queueName()}: ${failure.errorType}: ${failure.errorMessage}; it returns to the queue when its visibility timeout ends`,
        );
        return;
      } finally {
        this.fn.release();
      }
      const failed = this.mapping.reportBatchItemFailures ? failedMessageIds(response, batch.messages) : new Set<string>();
      if (failed === 'batch') {
        this.log(`[lambda] ${this.fn.functionName} answered a batch from ${this.queueName()} with an invalid batchItemFailures response: the whole batch returns to the queue`);
        return;
      }
      for (const message of batch.messages) {
        if (failed.has(message.MessageId)) continue;
        if (!this.queues.deleteForConsumer(this.mapping.queueArn, message.ReceiptHandle)) {
          this.log(`[lambda] message ${message.MessageId} of ${this.queueName()} could not be deleted after ${this.fn.functionName} processed it (its receipt handle expired): it will be delivered again`);
        }
      }
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    this.held--;
    this.schedulePump();
  }

  /** A message as a record of Lambda's SQS event. */
  private record(message: ReceivedQueueMessage): SqsEventRecord {
    const [, , , region = ''] = this.mapping.queueArn.split(':');
    const attributes = Object.fromEntries(RECORD_ATTRIBUTES.filter((name) => message.Attributes[name] !== undefined).map((name) => [name, message.Attributes[name] as string]));
    const messageAttributes = Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          ...(value.BinaryValue !== undefined ? { binaryValue: value.BinaryValue } : {}),
          stringListValues: [],
          binaryListValues: [],
          dataType: value.DataType,
        },
      ]),
    );
    return {
      messageId: message.MessageId,
      receiptHandle: message.ReceiptHandle,
      body: message.Body,
      attributes,
      messageAttributes,
      md5OfBody: message.MD5OfBody,
      ...(message.MD5OfMessageAttributes !== undefined ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: this.mapping.queueArn,
      awsRegion: region,
    };
  }

  private queueName(): string {
    return this.mapping.queueArn.split(':').at(-1) ?? this.mapping.queueArn;
  }
}

/**
 * The messages a ReportBatchItemFailures response names, or 'batch' when Lambda takes the whole
 * batch as failed. A null or empty response, or a null or empty batchItemFailures, is a complete
 * success; an itemIdentifier that is missing, empty, or not a message of the batch fails it all
 * (Lambda Developer Guide, "Handling errors for an SQS event source in Lambda").
 */
export function failedMessageIds(response: unknown, messages: readonly ReceivedQueueMessage[]): Set<string> | 'batch' {
  if (response === null || response === undefined) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return 'batch';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'batch';
  const inBatch = new Set(messages.map((message) => message.MessageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof identifier !== 'string' || !inBatch.has(identifier)) return 'batch';
    failed.add(identifier);
  }
  return failed;
}
