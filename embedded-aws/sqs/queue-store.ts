/**
 * The one store of the embedded SQS: standard queues and their messages, on the virtual clock.
 * Delays, visibility timeouts and retention are instants on that clock; a message keeps the spans
 * it was in flight and when it left the queue, so ApproximateNumberOfMessagesVisible can be read
 * at any recent instant, as CloudWatch samples it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';

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
  /** Deleted, purged or expired: kept a while for the metrics of past instants. */
  removedAt?: number;
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
  messages: QueuedMessage[];
  lastPurgedAt?: number;
}

export interface QueueScope {
  accountId: string;
  region: string;
}

/** Whose receipt a receipt handle is: the queue, the message, and which of its receives. */
interface Receipt {
  queueArn: string;
  messageId: string;
  receive: number;
}

export type ReceiptLookup =
  | { kind: 'current'; message: QueuedMessage }
  /** A well-formed handle of an earlier receive, or of a message no longer in the queue. */
  | { kind: 'stale'; message?: QueuedMessage }
  | { kind: 'invalid' };

export const QUEUE_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  DelaySeconds: '0',
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  // SSE-SQS is on for queues created since 2022 unless turned off.
  SqsManagedSseEnabled: 'true',
};

// CloudWatch evaluates alarms over at most a day of datapoints; what left a queue longer ago than
// that no longer counts anywhere.
const HISTORY_MS = 2 * 86_400_000;

export class QueueStore {
  private readonly queues = new Map<string, Queue>();
  private readonly clock: Clock;
  private readonly listeners = new Set<(queue: Queue) => void>();
  private readonly shutdown = new AbortController();
  private wake: { at: number; cancel: AbortController } | undefined;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  now(): number {
    return this.clock.now().getTime();
  }

  /** Called on every change of a queue's contents, including those the clock brings (a visibility timeout ending). */
  onChange(listener: (queue: Queue) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  create(scope: QueueScope, name: string, attributes: Record<string, string>, tags: Record<string, string>): Queue {
    const now = this.now();
    const queue: Queue = {
      name,
      arn: `arn:aws:sqs:${scope.region}:${scope.accountId}:${name}`,
      accountId: scope.accountId,
      region: scope.region,
      attributes: { ...QUEUE_ATTRIBUTE_DEFAULTS, ...attributes },
      tags,
      createdAt: now,
      lastModifiedAt: now,
      messages: [],
    };
    this.queues.set(queue.arn, queue);
    return queue;
  }

  find(scope: QueueScope, name: string): Queue | undefined {
    return this.queues.get(`arn:aws:sqs:${scope.region}:${scope.accountId}:${name}`);
  }

  findByArn(arn: string): Queue | undefined {
    return this.queues.get(arn);
  }

  list(scope?: QueueScope): Queue[] {
    return [...this.queues.values()].filter((queue) => !scope || (queue.accountId === scope.accountId && queue.region === scope.region));
  }

  delete(queue: Queue): void {
    this.queues.delete(queue.arn);
    this.changed(queue);
  }

  send(queue: Queue, message: { body: string; attributes: Record<string, MessageAttributeValue>; senderId: string; delaySeconds: number }): QueuedMessage {
    const now = this.now();
    const queued: QueuedMessage = {
      messageId: randomUUID(),
      body: message.body,
      attributes: message.attributes,
      senderId: message.senderId,
      sentAt: now,
      availableAt: now + message.delaySeconds * 1000,
      expiresAt: now + Number(queue.attributes.MessageRetentionPeriod) * 1000,
      receiveCount: 0,
      inFlight: [],
    };
    queue.messages.push(queued);
    this.changed(queue);
    return queued;
  }

  /** Receives up to `max` visible messages, oldest first, hiding each for `visibilitySeconds`. */
  receive(queue: Queue, max: number, visibilitySeconds: number): { message: QueuedMessage; receiptHandle: string }[] {
    const now = this.now();
    this.expire(queue, now);
    const received = queue.messages
      .filter((message) => stateAt(message, now) === 'visible')
      .slice(0, max)
      .map((message) => {
        message.receiveCount++;
        message.firstReceivedAt ??= now;
        message.inFlight.push({ from: now, until: now + visibilitySeconds * 1000 });
        return { message, receiptHandle: receiptHandle({ queueArn: queue.arn, messageId: message.messageId, receive: message.receiveCount }) };
      });
    if (received.length > 0) this.changed(queue);
    return received;
  }

  lookupReceipt(queue: Queue, handle: string): ReceiptLookup {
    const receipt = parseReceiptHandle(handle);
    if (!receipt || receipt.queueArn !== queue.arn) return { kind: 'invalid' };
    this.expire(queue, this.now());
    const message = queue.messages.find((candidate) => candidate.messageId === receipt.messageId && candidate.removedAt === undefined);
    if (!message || message.receiveCount !== receipt.receive) return { kind: 'stale', ...(message ? { message } : {}) };
    return { kind: 'current', message };
  }

  remove(queue: Queue, message: QueuedMessage): void {
    message.removedAt = this.now();
    this.changed(queue);
  }

  /** Whether the message is in flight now, hidden by its latest receive. */
  inFlight(message: QueuedMessage): boolean {
    return stateAt(message, this.now()) === 'in-flight';
  }

  /** Moves the end of the message's current visibility timeout to `seconds` from now. */
  changeVisibility(queue: Queue, message: QueuedMessage, seconds: number): void {
    const span = message.inFlight.at(-1);
    if (span) span.until = this.now() + seconds * 1000;
    this.changed(queue);
  }

  purge(queue: Queue): void {
    const now = this.now();
    for (const message of queue.messages) message.removedAt ??= now;
    queue.lastPurgedAt = now;
    this.changed(queue);
  }

  /** The queue's messages by state at `at`: as GetQueueAttributes and the AWS/SQS metrics count them. */
  counts(queue: Queue, at = this.now()): { visible: number; inFlight: number; delayed: number } {
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of queue.messages) {
      const state = stateAt(message, at);
      if (state === 'visible') counts.visible++;
      else if (state === 'in-flight') counts.inFlight++;
      else if (state === 'delayed') counts.delayed++;
    }
    return counts;
  }

  /** The messages still in the queue, whatever their visibility. */
  current(queue: Queue): QueuedMessage[] {
    this.expire(queue, this.now());
    return queue.messages.filter((message) => message.removedAt === undefined);
  }

  close(): void {
    this.shutdown.abort();
    this.wake?.cancel.abort();
  }

  private changed(queue: Queue): void {
    const now = this.now();
    queue.messages = queue.messages.filter((message) => message.removedAt === undefined || now - message.removedAt < HISTORY_MS);
    for (const listener of this.listeners) listener(queue);
    this.armWake();
  }

  /** Drops messages past their retention period, as of `now`. */
  private expire(queue: Queue, now: number): void {
    let expired = false;
    for (const message of queue.messages) {
      if (message.removedAt === undefined && message.expiresAt <= now) {
        message.removedAt = message.expiresAt;
        expired = true;
      }
    }
    if (expired) this.changed(queue);
  }

  /**
   * One sleeper on the clock, for the next instant a message changes state by itself (its delay or
   * visibility timeout ends, its retention period runs out), so listeners hear of it then.
   */
  private armWake(): void {
    if (this.shutdown.signal.aborted) return;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      for (const message of queue.messages) {
        if (message.removedAt !== undefined) continue;
        const span = message.inFlight.at(-1);
        for (const instant of [message.availableAt, span?.until ?? 0, message.expiresAt]) {
          if (instant > now && instant < next) next = instant;
        }
      }
    }
    if (this.wake && this.wake.at === next) return;
    this.wake?.cancel.abort();
    this.wake = undefined;
    if (!Number.isFinite(next)) return;
    const wake = { at: next, cancel: new AbortController() };
    this.wake = wake;
    void this.clock.sleepUntil(new Date(next), wake.cancel.signal).then(() => {
      if (wake.cancel.signal.aborted || this.shutdown.signal.aborted) return;
      this.wake = undefined;
      const at = this.now();
      for (const queue of this.queues.values()) {
        this.expire(queue, at);
        const due = queue.messages.some((message) => message.removedAt === undefined && [message.availableAt, message.inFlight.at(-1)?.until].includes(next));
        if (due) this.changed(queue);
      }
      this.armWake();
    });
  }
}

type MessageState = 'delayed' | 'visible' | 'in-flight' | 'gone';

function stateAt(message: QueuedMessage, at: number): MessageState {
  if (at < message.sentAt || (message.removedAt !== undefined && at >= message.removedAt) || at >= message.expiresAt) return 'gone';
  if (at < message.availableAt) return 'delayed';
  return message.inFlight.some((span) => span.from <= at && at < span.until) ? 'in-flight' : 'visible';
}

/** Opaque to clients, as SQS's are; it names the queue, the message and which receive it came from. */
function receiptHandle(receipt: Receipt): string {
  const text = JSON.stringify([receipt.queueArn, receipt.messageId, receipt.receive, randomBytes(6).toString('hex')]);
  return Buffer.from(text).toString('base64');
}

function parseReceiptHandle(handle: string): Receipt | undefined {
  try {
    const [queueArn, messageId, receive] = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as unknown[];
    if (typeof queueArn !== 'string' || typeof messageId !== 'string' || typeof receive !== 'number') return undefined;
    return { queueArn, messageId, receive };
  } catch {
    return undefined;
  }
}
