/**
 * What the embedded SQS keeps: queues, their attributes as SQS names them, and their messages, with
 * the instants on the virtual clock that decide what each message is doing. Plain data; the store
 * that changes it is queue-store.ts.
 */

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

export interface QueuedMessage {
  messageId: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  senderId: string;
  sentAt: number;
  /** When DelaySeconds has passed and the message can first be received. */
  availableAt: number;
  /** When MessageRetentionPeriod has passed and SQS deletes the message. */
  expiresAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** Each receive hides the message from `from` until `until` (moved by ChangeMessageVisibility). */
  inFlight: { from: number; until: number }[];
  /** Deleted, purged, expired or moved to a dead-letter queue: kept a while for the metrics of past instants. */
  removedAt?: number;
  /** The message group: required on a FIFO queue, optional on a standard one (fair queues). */
  groupId?: string;
  /** FIFO queues: the deduplication ID given, or the body's SHA-256 under content-based deduplication. */
  deduplicationId?: string;
  /** FIFO queues: a large, increasing, non-consecutive number, as SQS gives it (decimal text). */
  sequenceNumber?: string;
  /** A message a redrive policy moved here: the queue it came from. */
  deadLetterSourceArn?: string;
  /**
   * When the message came into this queue, if not when it was sent: a standard queue's message moved
   * to a dead-letter queue keeps its SentTimestamp (and so its expiry) but arrives there later.
   */
  arrivedAt?: number;
}

export interface Queue {
  name: string;
  arn: string;
  accountId: string;
  region: string;
  /** Queue attributes as SQS names and renders them, values as strings. */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  lastModifiedAt: number;
  /** The messages in the queue (any removed since the last change excepted). */
  messages: QueuedMessage[];
  /** Messages that left the queue, kept a while for the metrics of past instants. */
  removed: QueuedMessage[];
  lastPurgedAt?: number;
  /** FIFO queues: the deduplication IDs sent within the interval, oldest first, with the first send's answer. */
  deduplication: Map<string, { messageId: string; sequenceNumber: string; sentAt: number }>;
  lastSequenceNumber: bigint;
}

export interface QueueScope {
  accountId: string;
  region: string;
}

export const QUEUE_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  DelaySeconds: '0',
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  // SSE-SQS is on for queues created since 2022 unless turned off.
  SqsManagedSseEnabled: 'true',
};

/** A FIFO queue's attributes when CreateQueue does not set them. */
export const FIFO_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'queue',
  FifoThroughputLimit: 'perQueue',
};

export function isFifo(queue: Queue): boolean {
  return queue.attributes.FifoQueue === 'true';
}

/** A queue's RedrivePolicy, when it has a well-formed one. */
export function redrivePolicyOf(queue: Queue): { deadLetterTargetArn: string; maxReceiveCount: number } | undefined {
  const declared = queue.attributes.RedrivePolicy;
  if (!declared) return undefined;
  try {
    const policy = JSON.parse(declared) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    const maxReceiveCount = Number(policy.maxReceiveCount);
    if (typeof policy.deadLetterTargetArn !== 'string' || !Number.isInteger(maxReceiveCount)) return undefined;
    return { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount };
  } catch {
    return undefined;
  }
}
