import type { Clock } from '../clock.ts';
import type { EventSink } from '../protocol.ts';
import { keyDeletionEvent } from './kms-events.ts';
import type { KeyStore, KmsKey } from './key-store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes keys once their waiting period is over, as KMS does: the key and its aliases vanish, a
 * `KMS CMK Deletion` event goes out, and a multi-Region primary waiting for its replicas starts its
 * own waiting period when the last of them is gone.
 *
 * KMS deletes a key at some point up to 24 hours after its DeletionDate (docs/aws-facts.md);
 * `deletionLagMs` models that delay. Deletion happens both lazily, whenever the service is called,
 * and on a timer of the virtual clock, so the event fires even when nobody calls.
 */
export class KeyDeletion {
  private readonly store: KeyStore;
  private readonly clock: Clock;
  private readonly emit: EventSink | undefined;
  private readonly deletionLagMs: number;
  private readonly timers = new Map<KmsKey, AbortController>();
  /** The keys in their waiting period, by the instant each is due for deletion. */
  private readonly waiting = new Map<KmsKey, number>();
  private readonly dueOrder = new DeletionQueue();

  constructor(options: { store: KeyStore; clock: Clock; emit: EventSink | undefined; deletionLagMs: number }) {
    this.store = options.store;
    this.clock = options.clock;
    this.emit = options.emit;
    this.deletionLagMs = options.deletionLagMs;
  }

  /**
   * Puts the key in its waiting period, or, for a multi-Region primary that still has replicas, in
   * PendingReplicaDeletion: no DeletionDate until the last replica is deleted.
   */
  schedule(key: KmsKey, pendingWindowInDays: number, now: Date): void {
    key.pendingWindowInDays = pendingWindowInDays;
    if (key.multiRegionKeyType === 'PRIMARY' && this.store.relatedMultiRegionKeys(key).replicas.length > 0) {
      key.state = 'PendingReplicaDeletion';
      key.deletionDate = undefined;
      return;
    }
    this.startWaitingPeriod(key, now);
  }

  /** CancelKeyDeletion leaves the key Disabled, never Enabled (docs/aws-facts.md). */
  cancel(key: KmsKey): void {
    this.timers.get(key)?.abort();
    this.timers.delete(key);
    this.waiting.delete(key);
    key.state = 'Disabled';
    key.deletionDate = undefined;
    key.pendingWindowInDays = undefined;
  }

  /**
   * Deletes every key whose deletion is due, earliest first, so cascades land at the right instants.
   * It runs before every KMS call, so it looks only at the earliest deletions, never at every key.
   */
  deleteDueKeys(): void {
    const nowMs = this.clock.now().getTime();
    for (let next = this.dueOrder.peek(); next && next.at <= nowMs; next = this.dueOrder.peek()) {
      this.dueOrder.pop();
      // A key cancelled, deleted or given another deletion date since it was queued is not due at this instant.
      if (this.waiting.get(next.key) !== next.at || next.key.state !== 'PendingDeletion') continue;
      // A primary whose last replica this was starts its waiting period, and joins the queue in its turn.
      this.delete(next.key, new Date(next.at));
    }
  }

  /** Stops every timer; keys stay scheduled and are still deleted lazily on the next call. */
  close(): void {
    for (const timer of this.timers.values()) timer.abort();
    this.timers.clear();
  }

  /** Re-arms the deletion of a key restored from a snapshot while pending deletion, keeping its DeletionDate. */
  resume(key: KmsKey): void {
    if (key.state === 'PendingDeletion') this.armTimer(key);
  }

  private startWaitingPeriod(key: KmsKey, from: Date): void {
    key.state = 'PendingDeletion';
    key.deletionDate = new Date(from.getTime() + (key.pendingWindowInDays ?? 30) * DAY_MS);
    this.armTimer(key);
  }

  private armTimer(key: KmsKey): void {
    this.waiting.set(key, this.deletionInstant(key));
    this.dueOrder.push(key, this.deletionInstant(key));
    this.timers.get(key)?.abort();
    const timer = new AbortController();
    this.timers.set(key, timer);
    // The timer is nobody's work: the request that scheduled the key answers and ends meanwhile.
    const sleep = () => this.clock.sleepUntil(new Date(this.deletionInstant(key)), timer.signal);
    void (this.clock.activity?.detached(sleep) ?? sleep()).then(() => {
      if (!timer.signal.aborted) this.deleteDueKeys();
    });
  }

  private deletionInstant(key: KmsKey): number {
    return (key.deletionDate?.getTime() ?? Number.POSITIVE_INFINITY) + this.deletionLagMs;
  }

  private delete(key: KmsKey, deletedAt: Date): void {
    this.timers.get(key)?.abort();
    this.timers.delete(key);
    this.waiting.delete(key);
    const related = key.multiRegionKeyType === 'REPLICA' ? this.store.relatedMultiRegionKeys(key) : undefined;
    this.store.removeKey(key);
    // The material is what crypto-erasure destroys: leave no copy of it in memory either.
    key.material?.fill(0);
    key.material = undefined;
    key.privateKey = undefined;
    this.emit?.(keyDeletionEvent(key, deletedAt));
    const primary = related?.primary;
    if (primary?.state === 'PendingReplicaDeletion' && this.store.relatedMultiRegionKeys(primary).replicas.length === 0) {
      this.startWaitingPeriod(primary, deletedAt);
    }
  }
}

/** Keys by the instant they are due for deletion: a binary min-heap, first queued first among equals. */
class DeletionQueue {
  private readonly heap: { key: KmsKey; at: number; order: number }[] = [];
  private queued = 0;

  push(key: KmsKey, at: number): void {
    this.heap.push({ key, at, order: this.queued++ });
    for (let child = this.heap.length - 1; child > 0; ) {
      const parent = (child - 1) >> 1;
      if (!this.before(child, parent)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  peek(): { key: KmsKey; at: number } | undefined {
    return this.heap[0];
  }

  pop(): void {
    const last = this.heap.pop();
    if (!last || this.heap.length === 0) return;
    this.heap[0] = last;
    for (let parent = 0; ; ) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let first = parent;
      if (left < this.heap.length && this.before(left, first)) first = left;
      if (right < this.heap.length && this.before(right, first)) first = right;
      if (first === parent) return;
      this.swap(parent, first);
      parent = first;
    }
  }

  private before(a: number, b: number): boolean {
    const first = this.heap[a]!;
    const second = this.heap[b]!;
    return first.at < second.at || (first.at === second.at && first.order < second.order);
  }

  private swap(a: number, b: number): void {
    [this.heap[a], this.heap[b]] = [this.heap[b]!, this.heap[a]!];
  }
}
