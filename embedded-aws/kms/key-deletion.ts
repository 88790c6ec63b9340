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
    key.state = 'Disabled';
    key.deletionDate = undefined;
    key.pendingWindowInDays = undefined;
  }

  /** Deletes every key whose deletion is due, earliest first, so cascades land at the right instants. */
  deleteDueKeys(): void {
    const nowMs = this.clock.now().getTime();
    for (;;) {
      const due = this.store
        .allKeys()
        .filter((key) => key.state === 'PendingDeletion' && this.deletionInstant(key) <= nowMs)
        .sort((a, b) => this.deletionInstant(a) - this.deletionInstant(b))[0];
      if (!due) return;
      this.delete(due, new Date(this.deletionInstant(due)));
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
    this.timers.get(key)?.abort();
    const timer = new AbortController();
    this.timers.set(key, timer);
    void this.clock.sleepUntil(new Date(this.deletionInstant(key)), timer.signal).then(() => {
      if (!timer.signal.aborted) this.deleteDueKeys();
    });
  }

  private deletionInstant(key: KmsKey): number {
    return (key.deletionDate?.getTime() ?? Number.POSITIVE_INFINITY) + this.deletionLagMs;
  }

  private delete(key: KmsKey, deletedAt: Date): void {
    this.timers.get(key)?.abort();
    this.timers.delete(key);
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
