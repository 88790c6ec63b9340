import type { Activity } from './activity.ts';

/**
 * The one clock of the embedded AWS. KMS waiting periods, Step Functions Wait states and retries and
 * the handlers' own notion of "now" all read it, so a 7 to 30 day erasure can run in seconds while
 * every waiting-period rule still holds. It runs in one of two ways:
 * - discrete (the way SimPy and Temporal's time-skipping test server run): virtual time stands still
 *   while work runs and moves only when told to (`advance`, `advanceTo`), which the embedded AWS
 *   does when every unit of work waits on the clock. Handler and API work take no virtual time, so
 *   quotas, backoffs and timelines come out the same on any machine, however loaded;
 * - scaled: virtual time runs `timeScale` times faster than real time, for a person who drives the
 *   embedded AWS by hand (`erasure local`) and expects time to pass on its own.
 */
export interface Clock {
  now(): Date;
  /** Resolves once virtual time reaches `instant` (at once if it already has), or when `signal` aborts. */
  sleepUntil(instant: Date, signal?: AbortSignal): Promise<void>;
  /** Sleeps `virtualMs` milliseconds of virtual time. */
  sleep(virtualMs: number, signal?: AbortSignal): Promise<void>;
  /** Who is at work, for a discrete clock that moves only when nothing is; absent in unit tests. */
  readonly activity?: Activity;
}

interface Sleeper {
  until: number;
  /** Order of arrival: sleepers due at once wake in the order they fell asleep. */
  seq: number;
  resolve: () => void;
  timer: NodeJS.Timeout | undefined;
  awake: boolean;
}

export class VirtualClock implements Clock {
  /** How many times faster than real time the clock runs; 0 for a discrete clock. */
  readonly timeScale: number;
  private virtualEpoch: number;
  private realEpoch: number;
  private readonly sleepers = new Set<Sleeper>();
  /**
   * The same sleepers, earliest first, for a discrete clock: a burst keeps thousands asleep, and
   * each jump needs only the earliest ones. Woken sleepers leave it lazily, when they reach the top.
   */
  private readonly byInstant = new SleeperHeap();
  private nextSeq = 0;
  readonly activity: Activity | undefined;

  /** Without `timeScale`, a discrete clock; `activity` is told which unit of work sleeps. */
  constructor(options: { timeScale?: number; start?: Date; activity?: Activity } = {}) {
    const timeScale = options.timeScale ?? 0;
    if (!Number.isFinite(timeScale) || timeScale < 0) {
      throw new RangeError(`time scale must be a positive number, got ${timeScale}`);
    }
    this.timeScale = timeScale;
    this.activity = options.activity;
    this.virtualEpoch = (options.start ?? new Date()).getTime();
    this.realEpoch = performance.now();
  }

  get discrete(): boolean {
    return this.timeScale === 0;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    if (this.discrete) return this.virtualEpoch;
    return Math.floor(this.virtualEpoch + (performance.now() - this.realEpoch) * this.timeScale);
  }

  /** Jumps virtual time forward; sleepers whose instant has come wake at once. */
  advance(virtualMs: number): void {
    if (virtualMs < 0) throw new RangeError('the clock only moves forward');
    this.virtualEpoch += virtualMs;
    if (!this.discrete) {
      for (const sleeper of this.sleepers) this.arm(sleeper);
      return;
    }
    const due: Sleeper[] = [];
    for (let top = this.byInstant.peek(); top && (top.awake || top.until <= this.virtualEpoch); top = this.byInstant.peek()) {
      this.byInstant.pop();
      if (!top.awake) due.push(top);
    }
    due.sort((a, b) => a.seq - b.seq);
    for (const sleeper of due) sleeper.resolve();
  }

  /** Jumps virtual time forward to `instant` (no further back than now). */
  advanceTo(instant: Date): void {
    this.advance(Math.max(0, instant.getTime() - this.nowMs()));
  }

  /** The earliest instant anything sleeps until, or undefined when nothing sleeps. */
  nextWake(): Date | undefined {
    if (this.discrete) {
      while (this.byInstant.peek()?.awake) this.byInstant.pop();
      const earliest = this.byInstant.peek();
      return earliest === undefined ? undefined : new Date(earliest.until);
    }
    let earliest: number | undefined;
    for (const sleeper of this.sleepers) earliest = earliest === undefined ? sleeper.until : Math.min(earliest, sleeper.until);
    return earliest === undefined ? undefined : new Date(earliest);
  }

  sleep(virtualMs: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(new Date(this.nowMs() + Math.max(0, virtualMs)), signal);
  }

  sleepUntil(instant: Date, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    const wake = new Promise<void>((resolve) => {
      const sleeper: Sleeper = {
        until: instant.getTime(),
        seq: this.nextSeq++,
        timer: undefined,
        awake: false,
        resolve: () => {
          sleeper.awake = true;
          clearTimeout(sleeper.timer);
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.resolve);
          resolve();
        },
      };
      signal?.addEventListener('abort', sleeper.resolve, { once: true });
      this.sleepers.add(sleeper);
      if (this.discrete && sleeper.until > this.virtualEpoch) this.byInstant.push(sleeper);
      this.arm(sleeper);
    });
    return this.activity ? this.activity.waitFor(wake) : wake;
  }

  private arm(sleeper: Sleeper): void {
    clearTimeout(sleeper.timer);
    if (sleeper.until <= this.nowMs()) {
      sleeper.resolve();
      return;
    }
    // A discrete clock's sleepers wake only when the clock is moved.
    if (this.discrete) return;
    const realDelay = (sleeper.until - this.nowMs()) / this.timeScale;
    // Node caps timers at 2^31-1 ms; re-arm until the instant really comes.
    sleeper.timer = setTimeout(() => this.arm(sleeper), Math.min(Math.ceil(realDelay), 2 ** 31 - 1));
  }
}

/** A binary min-heap of sleepers by instant, then by order of arrival. */
class SleeperHeap {
  private readonly items: Sleeper[] = [];

  peek(): Sleeper | undefined {
    return this.items[0];
  }

  push(sleeper: Sleeper): void {
    const items = this.items;
    items.push(sleeper);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(items[index]!, items[parent]!)) break;
      [items[index], items[parent]] = [items[parent]!, items[index]!];
      index = parent;
    }
  }

  pop(): Sleeper | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === index) return top;
      [items[index], items[smallest]] = [items[smallest]!, items[index]!];
      index = smallest;
    }
  }
}

function before(a: Sleeper, b: Sleeper): boolean {
  return a.until < b.until || (a.until === b.until && a.seq < b.seq);
}
