/**
 * The one clock of the embedded AWS. KMS waiting periods, Step Functions Wait states and retries and
 * the handlers' own notion of "now" all read it, so a 7 to 30 day erasure can run in seconds while
 * every waiting-period rule still holds: virtual time runs `timeScale` times faster than real time,
 * and tests may also jump it forward with `advance`.
 */
export interface Clock {
  now(): Date;
  /** Resolves once virtual time reaches `instant` (at once if it already has), or when `signal` aborts. */
  sleepUntil(instant: Date, signal?: AbortSignal): Promise<void>;
  /** Sleeps `virtualMs` milliseconds of virtual time. */
  sleep(virtualMs: number, signal?: AbortSignal): Promise<void>;
}

interface Sleeper {
  until: number;
  resolve: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class VirtualClock implements Clock {
  readonly timeScale: number;
  private virtualEpoch: number;
  private realEpoch: number;
  private readonly sleepers = new Set<Sleeper>();

  constructor(options: { timeScale?: number; start?: Date } = {}) {
    const timeScale = options.timeScale ?? 1;
    if (!Number.isFinite(timeScale) || timeScale <= 0) {
      throw new RangeError(`time scale must be a positive number, got ${timeScale}`);
    }
    this.timeScale = timeScale;
    this.virtualEpoch = (options.start ?? new Date()).getTime();
    this.realEpoch = performance.now();
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return Math.floor(this.virtualEpoch + (performance.now() - this.realEpoch) * this.timeScale);
  }

  /** Jumps virtual time forward; sleepers whose instant has come wake at once. */
  advance(virtualMs: number): void {
    if (virtualMs < 0) throw new RangeError('the clock only moves forward');
    this.virtualEpoch += virtualMs;
    for (const sleeper of this.sleepers) this.arm(sleeper);
  }

  /** Jumps virtual time forward to `instant` (no further back than now). */
  advanceTo(instant: Date): void {
    this.advance(Math.max(0, instant.getTime() - this.nowMs()));
  }

  /** The earliest instant anything sleeps until, or undefined when nothing sleeps. */
  nextWake(): Date | undefined {
    let earliest: number | undefined;
    for (const sleeper of this.sleepers) earliest = earliest === undefined ? sleeper.until : Math.min(earliest, sleeper.until);
    return earliest === undefined ? undefined : new Date(earliest);
  }

  sleep(virtualMs: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(new Date(this.nowMs() + Math.max(0, virtualMs)), signal);
  }

  sleepUntil(instant: Date, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        until: instant.getTime(),
        timer: undefined,
        resolve: () => {
          clearTimeout(sleeper.timer);
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.resolve);
          resolve();
        },
      };
      signal?.addEventListener('abort', sleeper.resolve, { once: true });
      this.sleepers.add(sleeper);
      this.arm(sleeper);
    });
  }

  private arm(sleeper: Sleeper): void {
    clearTimeout(sleeper.timer);
    const realDelay = (sleeper.until - this.nowMs()) / this.timeScale;
    if (realDelay <= 0) {
      sleeper.resolve();
      return;
    }
    // Node caps timers at 2^31-1 ms; re-arm until the instant really comes.
    sleeper.timer = setTimeout(() => this.arm(sleeper), Math.min(Math.ceil(realDelay), 2 ** 31 - 1));
  }
}
