import { describe, expect, it } from 'vitest';
import { runBurst, type BurstResult } from '../../bench/burst.ts';
import { burstFigures, busyCore, deviations } from '../../bench/determinism.ts';

/**
 * The discrete-event clock makes a burst's figures a property of the pipeline, not of the machine:
 * virtual time stands still while handlers run, so a slower or busier machine takes longer in real
 * time but measures the same virtual seconds, the same pace and the same throttling. The same burst
 * is run twice, the second time beside a process that keeps a core busy, and the figures compared.
 * (`npm run bench` runs the same comparison at 1,000 closures, its `determinism` section; a test
 * keeps to a size that leaves `npm test` quick.)
 */
const SIZE = 60;


describe('a burst of closures at the KMS quota', () => {
  it('fails none, paces DisableKey at the quota, and measures the same on a loaded machine', async () => {
    const quiet = await runBurst(SIZE);
    const hog = busyCore();
    let loaded: BurstResult;
    try {
      loaded = await runBurst(SIZE);
    } finally {
      hog.kill();
    }

    for (const run of [quiet, loaded]) {
      expect(run.failed).toBe(0);
      expect(run.disabled).toBe(SIZE);
      expect(run.executions).toEqual({ SUCCEEDED: SIZE });
    }
    // At 5 DisableKey per second, 60 keys take about 12 virtual seconds, whatever the real time.
    expect(quiet.disablingSeconds).toBeGreaterThan(SIZE / 5 - 2);
    expect(quiet.disablingSeconds).toBeLessThan(SIZE / 5 + 2);
    const [a, b] = [burstFigures(quiet), burstFigures(loaded)];
    for (const [name, deviation] of Object.entries(deviations(a, b))) {
      expect(deviation, `${name}: ${a[name as keyof typeof a]} then ${b[name as keyof typeof b]}`).toBeLessThanOrEqual(0.05);
    }
  }, 300_000);
});
