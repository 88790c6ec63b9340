import type { Clock } from '../clock.ts';
import type { KeyState, KeyTransition, KmsKey } from './key-store.ts';

/**
 * How long KMS's transient key states last. The ReplicateKey and UpdatePrimaryRegion references
 * say only "a few seconds" (Creating becomes Enabled or PendingImport, Updating goes back to the
 * key's former state); the embedded KMS takes five seconds of virtual time.
 */
export const DEFAULT_TRANSITION_MS = 5_000;

/**
 * The transient key states that KMS leaves by itself: a replica is Creating right after ReplicateKey,
 * both keys of an UpdatePrimaryRegion are Updating. Each key settles when its moment comes on the
 * virtual clock, both lazily before every call and on a timer, as key deletion does.
 *
 * A key that left its transient state meanwhile (a Creating replica scheduled for deletion, which
 * ScheduleKeyDeletion allows) keeps the state it was put in: only a key still Creating or Updating
 * settles.
 */
export class KeyTransitions {
  private readonly clock: Clock;
  private readonly durationMs: number;
  private readonly pending = new Map<KmsKey, AbortController>();

  constructor(options: { clock: Clock; durationMs: number }) {
    this.clock = options.clock;
    this.durationMs = options.durationMs;
  }

  begin(key: KmsKey, from: KeyTransition['from'], settlesTo: KeyState): void {
    key.state = from;
    key.transition = { from, settlesTo, settlesAt: new Date(this.clock.now().getTime() + this.durationMs) };
    this.arm(key);
  }

  /** Settles every key whose transition is over; it runs before every KMS call. */
  settleDueKeys(): void {
    const nowMs = this.clock.now().getTime();
    for (const key of this.pending.keys()) {
      if (key.transition === undefined || key.transition.settlesAt.getTime() <= nowMs) this.settle(key);
    }
  }

  /** Re-arms the transition of a key restored from a snapshot mid-way, keeping its moment. */
  resume(key: KmsKey): void {
    if (key.transition) this.arm(key);
  }

  /** Stops the timers; transitions still settle lazily on the next call. */
  close(): void {
    for (const timer of this.pending.values()) timer.abort();
  }

  private settle(key: KmsKey): void {
    this.pending.get(key)?.abort();
    this.pending.delete(key);
    const transition = key.transition;
    key.transition = undefined;
    if (transition && key.state === transition.from) key.state = transition.settlesTo;
  }

  private arm(key: KmsKey): void {
    this.pending.get(key)?.abort();
    const timer = new AbortController();
    this.pending.set(key, timer);
    const at = key.transition?.settlesAt ?? this.clock.now();
    // The timer is nobody's work: the request that started it may answer and end meanwhile.
    const sleep = () => this.clock.sleepUntil(at, timer.signal);
    void (this.clock.activity?.detached(sleep) ?? sleep()).then(() => {
      if (!timer.signal.aborted) this.settleDueKeys();
    });
  }
}
