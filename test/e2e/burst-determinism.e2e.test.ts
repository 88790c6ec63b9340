import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runBurst, type BurstResult } from '../../bench/burst.ts';

/**
 * The discrete-event clock makes a burst's figures a property of the pipeline, not of the machine:
 * virtual time stands still while handlers run, so a slower or busier machine takes longer in real
 * time but measures the same virtual seconds, the same pace and the same throttling. The same burst
 * is run twice, the second time beside a process that keeps a core busy, and the figures compared.
 * (`npm run bench` shows the same at 1,000 closures and more; a unit test keeps to a size that
 * leaves `npm test` quick.)
 */
const SIZE = 60;

function busyCore(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

const figures = (result: BurstResult) => ({
  utilization: result.utilization,
  throttledPerSuccess: result.throttledPerSuccess,
  p50Seconds: result.p50Seconds,
  p99Seconds: result.p99Seconds,
  disablingSeconds: result.disablingSeconds,
});

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
    const a = figures(quiet);
    const b = figures(loaded);
    for (const name of Object.keys(a) as (keyof typeof a)[]) {
      const [x, y] = [a[name] ?? 0, b[name] ?? 0];
      expect(Math.abs(x - y), `${name}: ${x} then ${y}`).toBeLessThanOrEqual(Math.max(Math.abs(x), Math.abs(y)) * 0.05 + 1e-9);
    }
  }, 300_000);
});
