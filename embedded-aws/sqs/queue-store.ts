/**
 * The one store of the embedded SQS: standard and FIFO queues and their messages, on the virtual
 * clock. Delays, visibility timeouts, retention and FIFO deduplication windows are instants on that
 * clock; a message keeps the spans it was in flight and when it left the queue, so
 * ApproximateNumberOfMessagesVisible can be read at any recent instant, as CloudWatch samples it.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { parseReceiptHandle, receiptHandle, type ReceiptLookup } from './receipt-handles.ts';
import { isFifo, QUEUE_ATTRIBUTE_DEFAULTS, redrivePolicyOf, type MessageAttributeValue, type Queue, type QueuedMessage, type QueueScope } from './sqs-model.ts';

/** A message as SendMessage gives it to the store. */
export interface OutgoingMessage {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  senderId: string;
  delaySeconds: number;
  groupId?: string;
  deduplicationId?: string;
}

/** What SendMessage answers: a duplicate within the deduplication interval gets the first send's answer. */
export interface SendOutcome {
  messageId: string;
  sequenceNumber?: string;
  duplicate: boolean;
}

// CloudWatch evaluates alarms over at most a day of datapoints; what left a queue longer ago than
// that no longer counts anywhere.
const HISTORY_MS = 2 * 86_400_000;
// "Any messages sent with the same message deduplication ID are accepted successfully but aren't
// delivered during the 5-minute deduplication interval" (SQS API Reference, SendMessage).
const DEDUPLICATION_INTERVAL_MS = 5 * 60_000;

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
      removed: [],
      deduplication: new Map(),
      lastSequenceNumber: 0n,
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

  /**
   * Enqueues a message. On a FIFO queue a deduplication ID already sent within the interval (in the
   * queue, or in the message group under DeduplicationScope messageGroup) is accepted and not
   * enqueued again, and the first send's MessageId and SequenceNumber are answered.
   */
  send(queue: Queue, message: OutgoingMessage): SendOutcome {
    const now = this.now();
    if (isFifo(queue)) {
      for (const [key, seen] of queue.deduplication) {
        if (now - seen.sentAt < DEDUPLICATION_INTERVAL_MS) break;
        queue.deduplication.delete(key);
      }
      const key = queue.attributes.DeduplicationScope === 'messageGroup' ? `${message.groupId ?? ''}\u0000${message.deduplicationId ?? ''}` : (message.deduplicationId ?? '');
      const seen = queue.deduplication.get(key);
      if (seen) return { messageId: seen.messageId, sequenceNumber: seen.sequenceNumber, duplicate: true };
      const queued = this.enqueue(queue, message, now);
      queue.deduplication.set(key, { messageId: queued.messageId, sequenceNumber: queued.sequenceNumber ?? '', sentAt: now });
      return { messageId: queued.messageId, sequenceNumber: queued.sequenceNumber, duplicate: false };
    }
    return { messageId: this.enqueue(queue, message, now).messageId, duplicate: false };
  }

  private enqueue(queue: Queue, message: OutgoingMessage, now: number): QueuedMessage {
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
      ...(message.groupId !== undefined ? { groupId: message.groupId } : {}),
      ...(isFifo(queue) ? { deduplicationId: message.deduplicationId, sequenceNumber: this.nextSequenceNumber(queue, now) } : {}),
    };
    queue.messages.push(queued);
    this.changed(queue);
    return queued;
  }

  /** Increasing within the queue, twenty digits or so, with gaps: SQS's are, and clients must not count on more. */
  private nextSequenceNumber(queue: Queue, now: number): string {
    const fromClock = BigInt(now) * 10_000_000n;
    queue.lastSequenceNumber = fromClock > queue.lastSequenceNumber ? fromClock : queue.lastSequenceNumber + 1n;
    return queue.lastSequenceNumber.toString();
  }

  /**
   * Receives up to `max` visible messages, hiding each for `visibilitySeconds`: oldest first on a
   * standard queue. On a FIFO queue, as the SQS Developer Guide's "FIFO queue delivery logic" has
   * it: as many messages of one group as possible, in order, then of the next group; never a
   * message of a group that has a message in flight, nor one behind a message not yet visible.
   * A message already received maxReceiveCount times is moved to the RedrivePolicy's dead-letter
   * queue instead of being received again.
   */
  receive(queue: Queue, max: number, visibilitySeconds: number): { message: QueuedMessage; receiptHandle: string }[] {
    const now = this.now();
    this.expire(queue, now);
    const redrive = redrivePolicyOf(queue);
    const deadLetterQueue = redrive && this.queues.get(redrive.deadLetterTargetArn);
    const moved: QueuedMessage[] = [];
    const chosen: QueuedMessage[] = [];
    const take = (message: QueuedMessage) => {
      if (redrive && deadLetterQueue && message.receiveCount >= redrive.maxReceiveCount) moved.push(message);
      else chosen.push(message);
    };
    if (isFifo(queue)) {
      const groups = new Map<string, QueuedMessage[]>();
      for (const message of queue.messages) {
        if (stateAt(message, now) === 'gone') continue;
        const group = groups.get(message.groupId ?? '') ?? [];
        group.push(message);
        groups.set(message.groupId ?? '', group);
      }
      // Map order is the order of each group's oldest message.
      for (const group of groups.values()) {
        if (chosen.length >= max) break;
        if (group.some((message) => stateAt(message, now) === 'in-flight')) continue;
        for (const message of group) {
          if (chosen.length >= max || stateAt(message, now) !== 'visible') break;
          take(message);
        }
      }
    } else {
      for (const message of queue.messages) {
        if (chosen.length >= max) break;
        if (stateAt(message, now) === 'visible') take(message);
      }
    }
    const received = chosen.map((message) => {
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.inFlight.push({ from: now, until: now + visibilitySeconds * 1000 });
      return { message, receiptHandle: receiptHandle({ queueArn: queue.arn, messageId: message.messageId, receive: message.receiveCount }) };
    });
    if (deadLetterQueue && moved.length > 0) {
      for (const message of moved) this.moveToDeadLetterQueue(queue, message, deadLetterQueue, now);
      this.changed(deadLetterQueue);
    }
    if (received.length > 0 || moved.length > 0) this.changed(queue);
    return received;
  }

  /**
   * A standard queue's message keeps its enqueue timestamp in the dead-letter queue, and so expires
   * by it; a FIFO queue's gets a new one (SQS Developer Guide, "Setting-up dead-letter queue
   * retention"). Its ID, body, attributes and receive count go with it.
   */
  private moveToDeadLetterQueue(source: Queue, message: QueuedMessage, deadLetterQueue: Queue, now: number): void {
    message.removedAt = now;
    const fifo = isFifo(deadLetterQueue);
    const sentAt = fifo ? now : message.sentAt;
    deadLetterQueue.messages.push({
      messageId: message.messageId,
      body: message.body,
      attributes: message.attributes,
      senderId: message.senderId,
      sentAt,
      arrivedAt: now,
      availableAt: now,
      expiresAt: sentAt + Number(deadLetterQueue.attributes.MessageRetentionPeriod) * 1000,
      receiveCount: message.receiveCount,
      ...(message.firstReceivedAt !== undefined ? { firstReceivedAt: message.firstReceivedAt } : {}),
      inFlight: [],
      ...(message.groupId !== undefined ? { groupId: message.groupId } : {}),
      ...(message.deduplicationId !== undefined ? { deduplicationId: message.deduplicationId } : {}),
      ...(fifo ? { sequenceNumber: this.nextSequenceNumber(deadLetterQueue, now) } : {}),
      deadLetterSourceArn: source.arn,
    });
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
    for (const messages of [queue.messages, queue.removed]) {
      for (const message of messages) {
        const state = stateAt(message, at);
        if (state === 'visible') counts.visible++;
        else if (state === 'in-flight') counts.inFlight++;
        else if (state === 'delayed') counts.delayed++;
      }
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
    // What left the queue moves to its history, so that receives and wake-ups look only at what is
    // still in it; the history is dropped once too old for any metric to read.
    if (queue.messages.some((message) => message.removedAt !== undefined)) {
      queue.removed.push(...queue.messages.filter((message) => message.removedAt !== undefined));
      queue.messages = queue.messages.filter((message) => message.removedAt === undefined);
    }
    // Checked at the oldest arrival only: one kept a little longer is read as gone by every metric.
    if (now - (queue.removed[0]?.removedAt ?? now) >= HISTORY_MS) {
      queue.removed = queue.removed.filter((message) => now - (message.removedAt ?? now) < HISTORY_MS);
    }
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
        const until = message.inFlight.at(-1)?.until ?? 0;
        if (message.availableAt > now && message.availableAt < next) next = message.availableAt;
        if (until > now && until < next) next = until;
        if (message.expiresAt > now && message.expiresAt < next) next = message.expiresAt;
      }
    }
    if (this.wake && this.wake.at === next) return;
    this.wake?.cancel.abort();
    this.wake = undefined;
    if (!Number.isFinite(next)) return;
    const wake = { at: next, cancel: new AbortController() };
    this.wake = wake;
    const sleep = () => this.clock.sleepUntil(new Date(next), wake.cancel.signal);
    // The store's own wake-up is nobody's work: whatever changed the queue (a request, a delivery)
    // must not be taken for asleep on the clock meanwhile.
    void (this.clock.activity?.detached(sleep) ?? sleep()).then(() => {
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
  if (at < (message.arrivedAt ?? message.sentAt) || (message.removedAt !== undefined && at >= message.removedAt) || at >= message.expiresAt) return 'gone';
  if (at < message.availableAt) return 'delayed';
  return message.inFlight.some((span) => span.from <= at && at < span.until) ? 'in-flight' : 'visible';
}
