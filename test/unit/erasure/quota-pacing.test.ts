import { describe, expect, it } from 'vitest';
import { QuotaPacer, type PacerClock } from '../../../functions/lib/erasure/quota-pacing.ts';
import { invalidState, throttled } from '../../support/kms-double.ts';

/** A clock on which sleeping moves time on at once, and nothing else does. */
function fakeClock(startMs = Date.parse('2026-11-20T10:00:00Z')): PacerClock & { ms: number } {
  const clock = {
    ms: startMs,
    now: () => new Date(clock.ms),
    sleep: async (ms: number) => {
      clock.ms += ms;
    },
  };
  return clock;
}

/**
 * A KMS operation with a per-second quota, as KMS enforces it: a call beyond `perSecond` calls in
 * the last second is refused with ThrottlingException.
 */
function quotaBoundCall(clock: PacerClock, perSecond: number) {
  const accepted: number[] = [];
  const outcomes = { succeeded: 0, throttled: 0 };
  const call = async () => {
    const at = clock.now().getTime();
    if (accepted.filter((time) => time > at - 1000).length >= perSecond) {
      outcomes.throttled++;
      throw throttled();
    }
    accepted.push(at);
    outcomes.succeeded++;
    return at;
  };
  return { call, accepted, outcomes };
}

describe('QuotaPacer', () => {
  it('makes its calls no faster than its pace', async () => {
    const clock = fakeClock();
    const pacer = new QuotaPacer({ initialPerSecond: 5, increasePerSuccess: 0 }, clock);
    const start = clock.ms;

    const times: number[] = [];
    for (let call = 0; call < 10; call++) times.push(await pacer.call(async () => clock.now().getTime() - start));

    expect(times).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  });

  it('cuts its rate on a ThrottlingException, and makes the throttled call again', async () => {
    const clock = fakeClock();
    const pacer = new QuotaPacer({ initialPerSecond: 5, increasePerSuccess: 0, decreaseFactor: 0.5 }, clock);
    let attempts = 0;

    await pacer.call(async () => {
      if (attempts++ === 0) throw throttled();
    });
    const times: number[] = [];
    for (let call = 0; call < 3; call++) times.push(await pacer.call(async () => clock.ms));

    expect(attempts).toBe(2);
    expect(pacer.counts).toEqual({ succeeded: 4, throttled: 1 });
    expect(pacer.ratePerSecond).toBe(2.5);
    // From 5 calls a second to 2.5: 400 ms apart, not 200.
    expect([(times[1] ?? 0) - (times[0] ?? 0), (times[2] ?? 0) - (times[1] ?? 0)]).toEqual([400, 400]);
  });

  it('raises its rate a little with every success', async () => {
    const pacer = new QuotaPacer({ initialPerSecond: 5, increasePerSuccess: 0.1 }, fakeClock());

    for (let call = 0; call < 10; call++) await pacer.call(async () => 'done');

    expect(pacer.ratePerSecond).toBeCloseTo(6, 5);
  });

  it('never fails for throttling, however long it lasts', async () => {
    const clock = fakeClock();
    const pacer = new QuotaPacer({ initialPerSecond: 5 }, clock);
    let refusals = 100;

    const outcome = await pacer.call(async () => {
      if (refusals-- > 0) throw throttled();
      return 'disabled';
    });

    expect(outcome).toBe('disabled');
    expect(pacer.counts.throttled).toBe(100);
    expect(pacer.ratePerSecond).toBeGreaterThan(0);
  });

  it('lets any other error through at once, without retrying it', async () => {
    const pacer = new QuotaPacer({ initialPerSecond: 5 }, fakeClock());
    let calls = 0;
    const refusal = invalidState('arn:aws:kms:eu-west-1:111122223333:key/k is creating.');

    await expect(
      pacer.call(async () => {
        calls++;
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(calls).toBe(1);
    expect(pacer.ratePerSecond).toBe(5);
  });

  it('starts its schedule afresh when its clock is set back, instead of waiting for the old clock\'s future', async () => {
    const clock = fakeClock();
    const pacer = new QuotaPacer({ initialPerSecond: 5 }, clock);
    await pacer.call(async () => 'first');
    clock.ms += 30 * 86_400_000;
    await pacer.call(async () => 'a month later');

    // Another embedded AWS in the same process, its clock starting where the first one did.
    clock.ms -= 30 * 86_400_000 + 10_000;
    const restartedAt = clock.ms;
    await pacer.call(async () => 'after the restart');

    expect(clock.ms - restartedAt).toBe(0);
  });

  it('keeps close to a quota raised above where it starts, throttled rarely', async () => {
    const clock = fakeClock();
    const kms = quotaBoundCall(clock, 10);
    const pacer = new QuotaPacer({ initialPerSecond: 5 }, clock);

    for (let call = 0; call < 3000; call++) await pacer.call(kms.call);

    // Over the last 1,000 calls, well above the 5 per second it started at, and near the quota.
    const lastThousand = kms.accepted.slice(-1000);
    const perSecond = (1000 - 1) / (((lastThousand.at(-1) ?? 0) - (lastThousand[0] ?? 0)) / 1000);
    expect(perSecond).toBeGreaterThan(8);
    expect(perSecond).toBeLessThanOrEqual(10);
    expect(kms.outcomes.throttled / kms.outcomes.succeeded).toBeLessThanOrEqual(0.1);
  });

  it('settles under a quota lower than where it starts, without failing a call', async () => {
    const clock = fakeClock();
    const kms = quotaBoundCall(clock, 2);
    const pacer = new QuotaPacer({ initialPerSecond: 5 }, clock);

    for (let call = 0; call < 200; call++) await pacer.call(kms.call);

    expect(kms.outcomes.succeeded).toBe(200);
    expect(pacer.ratePerSecond).toBeLessThanOrEqual(2.5);
  });

  it('makes a call whose turn has come at once, without sleeping', async () => {
    const clock = fakeClock();
    const sleeps: number[] = [];
    const pacer = new QuotaPacer({ initialPerSecond: 5 }, { now: clock.now, sleep: async (ms) => void sleeps.push(ms) });

    await pacer.call(async () => 'first');
    clock.ms += 200;
    await pacer.call(async () => 'second, exactly one interval later');

    expect(sleeps).toEqual([]);
  });
});
