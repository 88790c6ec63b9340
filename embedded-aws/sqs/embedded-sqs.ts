import type { Clock } from '../clock.ts';
import {
  AwsServiceError,
  type FaultInjector,
  type HttpJsonService,
  type JsonObject,
  type QueryService,
  type RequestContext,
  type WireAnswer,
  type WireRequest,
} from '../protocol.ts';
import { deleteByReceipt, MESSAGE_OPERATIONS, renderMessage } from './message-operations.ts';
import { createQueue, QUEUE_OPERATIONS } from './queue-operations.ts';
import { QueueStore } from './queue-store.ts';
import type { SqsBackend, SqsOperation } from './sqs-backend.ts';
import { isFifo, type Queue, type QueueScope } from './sqs-model.ts';
import { queryErrorBody, queryInput, queryResponse } from './query-protocol.ts';
import { queryCodeOf, SqsError } from './wire-format.ts';

export interface EmbeddedSqsOptions {
  clock: Clock;
  faults?: FaultInjector;
  /** Where messages the services could not leave in a queue are reported. */
  log?: (line: string) => void;
  /**
   * The embedded endpoint, once it listens: queue URLs are `<endpoint>/<account>/<name>` so that an
   * SDK that sends a call to its QueueUrl's host reaches this endpoint. Without it, AWS's form.
   */
  endpoint?: () => string | undefined;
}

/** A message as tests and the main job read a queue: its body as JSON, its attributes as values. */
export interface QueueMessageView {
  queueArn: string;
  messageId: string;
  sentAt: string;
  /** The body parsed, when it is a JSON object (dead letters and on-failure records are). */
  body: JsonObject;
  text: string;
  /** Message attributes: EventBridge sets ERROR_CODE, ERROR_MESSAGE, RULE_ARN... on its dead letters. */
  attributes: Record<string, string | number>;
}

/**
 * A message as an in-process consumer (Lambda's event source mapping) receives it: ReceiveMessage's
 * output with every system and message attribute.
 */
export interface ReceivedQueueMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes: Record<string, string>;
  MD5OfMessageAttributes?: string;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
}

// A Map, not an object: an action named `constructor` or `toString` is an unsupported operation, not
// a method of Object.prototype.
const OPERATIONS = new Map<string, SqsOperation>(Object.entries({ ...QUEUE_OPERATIONS, ...MESSAGE_OPERATIONS }));

// Long polling may not outlast a client's patience: WaitTimeSeconds is at most 20 (API Reference).
const MAX_WAIT_MS = 20_000;

/**
 * SQS on loopback: standard and FIFO queues, in AWS JSON 1.0 (`AmazonSQS.<Operation>`, as SDK v3 and current
 * CLIs speak it, with the `x-amzn-query-error` header awsQueryCompatible clients read) and in the
 * query protocol (form-encoded `Action=...`, XML answers) older CLIs and SDKs speak. The dead-letter
 * queues of serverless.yml live here: EventBridge and Lambda send to them in-process.
 */
export class EmbeddedSqs implements HttpJsonService, QueryService {
  readonly targetPrefix = 'AmazonSQS';
  readonly signingName = 'sqs';
  private readonly store: QueueStore;
  private readonly backend: SqsBackend;
  private readonly faults: FaultInjector | undefined;
  private readonly log: (line: string) => void;
  private readonly shutdown = new AbortController();

  constructor(options: EmbeddedSqsOptions) {
    this.store = new QueueStore(options.clock);
    this.faults = options.faults;
    this.log = options.log ?? ((line) => console.warn(line));
    const endpoint = options.endpoint ?? (() => undefined);
    this.backend = {
      store: this.store,
      clock: options.clock,
      queueUrl: (queue) => `${endpoint() ?? `https://sqs.${queue.region}.amazonaws.com`}/${queue.accountId}/${queue.name}`,
      waitForChange: (queue, realMs) => this.waitForChange(queue, Math.min(realMs, MAX_WAIT_MS)),
    };
  }

  /** AWS JSON 1.0. */
  async serve(request: WireRequest, context: RequestContext): Promise<WireAnswer> {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': context.requestId };
    try {
      let input: JsonObject;
      try {
        input = request.body.length > 0 ? (JSON.parse(request.body) as JsonObject) : {};
      } catch (error) {
        throw new AwsServiceError('SerializationException', (error as Error).message);
      }
      const output = await this.call(operation, input, context);
      return { statusCode: 200, headers, body: JSON.stringify(output) };
    } catch (error) {
      const failure = asServiceError(error);
      const fault = failure.statusCode >= 500 ? 'Receiver' : 'Sender';
      return {
        statusCode: failure.statusCode,
        headers: { ...headers, 'x-amzn-query-error': `${queryCodeOf(failure)};${fault}` },
        body: JSON.stringify({ __type: `com.amazonaws.sqs#${failure.code}`, message: failure.message }),
      };
    }
  }

  /** The query protocol. */
  async handle(action: string, params: Record<string, string>, context: RequestContext): Promise<string> {
    return queryResponse(action, await this.call(action, queryInput(params), context), context.requestId);
  }

  errorBody(error: AwsServiceError, requestId: string): string {
    return queryErrorBody(error, requestId);
  }

  async call(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject> {
    const run = OPERATIONS.get(operation);
    if (!run) throw new SqsError('UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', `The embedded SQS does not implement ${operation}.`);
    const fault = this.faults?.({ service: 'sqs', operation, input, region: context.region });
    if (fault) throw fault;
    return run(this.backend, input, context);
  }

  /** Creates an AWS::SQS::Queue of serverless.yml, with its declared attributes; an existing one is kept. */
  deployQueue(scope: QueueScope, name: string, attributes: Record<string, string>): Queue {
    return createQueue(this.backend, scope, name, attributes, {});
  }

  /**
   * Sends a message as an AWS service does to a dead-letter queue or on-failure destination (the
   * body as JSON text, attributes typed String or Number). Returns false, and reports it, when the
   * message could not be sent: no such queue, or an injected fault; AWS would have lost it too.
   */
  send(queueArn: string, body: JsonObject, attributes: Record<string, string | number> = {}): boolean {
    const queue = this.store.findByArn(queueArn);
    const region = queueArn.split(':')[3] ?? '';
    const fault = this.faults?.({ service: 'sqs', operation: 'SendMessage', input: { QueueArn: queueArn }, region });
    if (!queue || fault || isFifo(queue)) {
      // Services send their dead letters without a message group: a FIFO queue would refuse them.
      const reason = fault ? `${fault.code}: ${fault.message}` : queue ? 'a FIFO queue takes no message without MessageGroupId' : 'no such queue';
      this.log(`[sqs] a message for ${queueArn} was lost: ${reason}`);
      return false;
    }
    const typed = Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { DataType: typeof value === 'number' ? 'Number' : 'String', StringValue: String(value) }]),
    );
    this.store.send(queue, { body: JSON.stringify(body), attributes: typed, senderId: queue.accountId, delaySeconds: Number(queue.attributes.DelaySeconds) });
    return true;
  }

  /** The messages in one queue, or in all, whatever their visibility; deleted ones are gone. */
  messages(queueArn?: string): QueueMessageView[] {
    const queues = queueArn === undefined ? this.store.list() : [this.store.findByArn(queueArn)].filter((queue): queue is Queue => queue !== undefined);
    return queues.flatMap((queue) =>
      this.store.current(queue).map((message) => ({
        queueArn: queue.arn,
        messageId: message.messageId,
        sentAt: new Date(message.sentAt).toISOString(),
        body: parseObject(message.body),
        text: message.body,
        attributes: Object.fromEntries(
          Object.entries(message.attributes).map(([name, value]) => [name, value.DataType.startsWith('Number') ? Number(value.StringValue) : (value.StringValue ?? '')]),
        ),
      })),
    );
  }

  /** ApproximateNumberOfMessagesVisible, NotVisible and Delayed of a queue at an instant, as CloudWatch samples them. */
  queueCounts(scope: QueueScope, queueName: string, at: number): { visible: number; inFlight: number; delayed: number } | undefined {
    const queue = this.store.find(scope, queueName);
    return queue && this.store.counts(queue, at);
  }

  /**
   * Receives up to `max` messages as a consumer in this process does (Lambda's event source
   * mapping), with the queue's visibility timeout and every attribute; none if the queue is gone.
   */
  receiveForConsumer(queueArn: string, max: number): ReceivedQueueMessage[] {
    const queue = this.store.findByArn(queueArn);
    if (!queue) return [];
    return this.store
      .receive(queue, max, Number(queue.attributes.VisibilityTimeout))
      .map(({ message, receiptHandle }) => renderMessage(message, receiptHandle, ['All'], ['All']) as unknown as ReceivedQueueMessage);
  }

  /** Deletes a received message by its receipt handle, as DeleteMessage does; false when it could not be deleted. */
  deleteForConsumer(queueArn: string, receiptHandle: string): boolean {
    const queue = this.store.findByArn(queueArn);
    if (!queue) return false;
    try {
      return deleteByReceipt(this.backend, queue, receiptHandle);
    } catch {
      return false;
    }
  }

  /** The queue's visibility timeout in seconds, and whether it is a FIFO queue; undefined if there is no such queue. */
  describeForConsumer(queueArn: string): { visibilityTimeoutSeconds: number; fifo: boolean } | undefined {
    const queue = this.store.findByArn(queueArn);
    return queue && { visibilityTimeoutSeconds: Number(queue.attributes.VisibilityTimeout), fifo: isFifo(queue) };
  }

  /**
   * Called, synchronously, whenever the queue's contents change: a message sent, deleted, or made
   * visible again by the clock (its delay or visibility timeout ending). A listener must not call
   * back into the queue from within the call.
   */
  onMessagesChange(queueArn: string, listener: () => void): () => void {
    return this.store.onChange((changed) => {
      if (changed.arn === queueArn) listener();
    });
  }

  /** Called with the queue's name whenever its contents change. */
  onQueueChange(listener: (queue: { name: string; accountId: string; region: string }) => void): () => void {
    return this.store.onChange(listener);
  }

  close(): void {
    this.shutdown.abort();
    this.store.close();
  }

  private waitForChange(queue: Queue, realMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.shutdown.signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        this.shutdown.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, realMs);
      const unsubscribe = this.store.onChange((changed) => {
        if (changed.arn === queue.arn) done();
      });
      this.shutdown.signal.addEventListener('abort', done, { once: true });
    });
  }
}

function parseObject(text: string): JsonObject {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  } catch {
    return {};
  }
}

function asServiceError(error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  return new AwsServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
}
