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
 * KMS deletes a key at some point up to 24 hours after its DeletionDate (AWS-FACTS.md);
 * `deletionLagMs` models that delay. Deletion happens both lazily, whenever the service is called,
 * and on a timer of the virtual clock, so the event fires even when nobody calls.
 */
export class KeyDeletion {
  private readonly store: KeyStore;
  private readonly clock: Clock;
  private readonly emit: EventSink | undefined;
  private readonly deletionLagMs: number;
  private readonly timers = new Map<KmsKey, AbortController>();
  /** The keys in their waiting period, and no later than the earliest of their deletions. */
  private readonly waiting = new Set<KmsKey>();
  private nextDeletionMs = Number.POSITIVE_INFINITY;

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

  /** CancelKeyDeletion leaves the key Disabled, never Enabled (AWS-FACTS.md). */
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
   * It runs before every KMS call: until the earliest deletion is due it looks at no key at all.
   */
  deleteDueKeys(): void {
    const nowMs = this.clock.now().getTime();
    if (nowMs < this.nextDeletionMs) return;
    const due: KmsKey[] = [];
    this.nextDeletionMs = Number.POSITIVE_INFINITY;
    for (const key of this.waiting) {
      if (key.state !== 'PendingDeletion') this.waiting.delete(key);
      else if (this.deletionInstant(key) <= nowMs) due.push(key);
      else this.nextDeletionMs = Math.min(this.nextDeletionMs, this.deletionInstant(key));
    }
    due.sort((a, b) => this.deletionInstant(a) - this.deletionInstant(b));
    for (let next = 0; next < due.length; next++) {
      const key = due[next]!;
      const cascaded = this.delete(key, new Date(this.deletionInstant(key)));
      // A primary whose last replica this was starts its own waiting period, which may be over already.
      if (cascaded && this.deletionInstant(cascaded) <= nowMs) {
        const at = due.findIndex((other, index) => index > next && this.deletionInstant(other) > this.deletionInstant(cascaded));
        due.splice(at === -1 ? due.length : at, 0, cascaded);
      }
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
    this.waiting.add(key);
    this.nextDeletionMs = Math.min(this.nextDeletionMs, this.deletionInstant(key));
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

  /** Deletes the key; returns a multi-Region primary whose waiting period this started, if any. */
  private delete(key: KmsKey, deletedAt: Date): KmsKey | undefined {
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
      return primary;
    }
    return undefined;
  }
}
