import { isThrottling } from '../aws/failures.ts';

/**
 * Paces one KMS operation across every erasure in flight, so that a burst of closures waits its
 * turn instead of failing: DisableKey allows 5 requests per second per account and Region, and
 * ten thousand executions each retrying on their own would spend the quota on ThrottlingExceptions
 * and their backoffs on idle seconds (issue 11 measured 27 % failed at 2,000 closures).
 *
 * The pace is additive-increase, multiplicative-decrease, as TCP's congestion control and the AWS
 * SDK's adaptive retry mode are: every success raises the rate a little, so a quota raised in the
 * account is found without a deploy; every ThrottlingException cuts it and the call is made again
 * at the new pace. Throttling is waiting here, never failing.
 */
export interface PaceSettings {
  /** Where the pace starts: KMS's default quota for the operation. */
  initialPerSecond: number;
  /** Added to the rate, per second, for every call that succeeds. */
  increasePerSuccess?: number;
  /** What the rate is multiplied by on a ThrottlingException. */
  decreaseFactor?: number;
  floorPerSecond?: number;
  ceilingPerSecond?: number;
}

export interface PacerClock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export class QuotaPacer {
  private perSecond: number;
  private nextSlotMs = 0;
  private lastNowMs = Number.NEGATIVE_INFINITY;
  private readonly increase: number;
  private readonly decrease: number;
  private readonly floor: number;
  private readonly ceiling: number;
  private readonly clock: PacerClock;
  /** Calls made and ThrottlingExceptions met, since this pacer was made (for logs and the bench). */
  readonly counts = { succeeded: 0, throttled: 0 };

  constructor(settings: PaceSettings, clock: PacerClock) {
    this.perSecond = settings.initialPerSecond;
    this.increase = settings.increasePerSuccess ?? settings.initialPerSecond / 500;
    this.decrease = settings.decreaseFactor ?? 0.8;
    this.floor = settings.floorPerSecond ?? 0.2;
    this.ceiling = settings.ceilingPerSecond ?? 1000;
    this.clock = clock;
  }

  get ratePerSecond(): number {
    return this.perSecond;
  }

  /** Makes the call in its turn; a throttled call is made again, later, as often as it takes. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.turn();
      try {
        const result = await request();
        this.counts.succeeded++;
        this.perSecond = Math.min(this.ceiling, this.perSecond + this.increase);
        return result;
      } catch (error) {
        if (!isThrottling(error)) throw error;
        this.counts.throttled++;
        this.perSecond = Math.max(this.floor, this.perSecond * this.decrease);
        // The call is made again a full interval of the new, slower pace after this refusal.
        this.nextSlotMs = this.clock.now().getTime() + 1000 / this.perSecond;
      }
    }
  }

  private async turn(): Promise<void> {
    const nowMs = this.clock.now().getTime();
    // A clock set back (an embedded AWS started afresh in the same process, whose handlers' modules
    // and so this pacer outlive the previous one's virtual month) would leave the next slot in a
    // future that belonged to the old clock: start the schedule again from now.
    if (nowMs < this.lastNowMs) this.nextSlotMs = nowMs;
    this.lastNowMs = nowMs;
    const slot = Math.max(nowMs, this.nextSlotMs);
    this.nextSlotMs = slot + 1000 / this.perSecond;
    if (slot > nowMs) await this.clock.sleep(slot - nowMs);
  }
}
