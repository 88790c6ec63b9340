import { spawn, type ChildProcess } from 'node:child_process';
import { runBurst, type BurstResult } from './burst.ts';
import { rounded } from './metrics.ts';

/**
 * The discrete-event clock makes a burst's figures a property of the pipeline, not of the machine:
 * virtual time stands still while handlers run, so a slower or busier machine takes longer in real
 * time but measures the same virtual seconds, the same pace and the same throttling. The same burst
 * is run twice, the second beside a process that keeps a core busy, and its figures compared.
 */
export interface DeterminismResult {
  size: number;
  quiet: BurstFigures;
  loaded: BurstFigures;
  /** The largest relative difference between the two runs' figures (0.05: five per cent). */
  maxDeviation: number;
  failed: number;
  wallSeconds: number;
}

export type BurstFigures = Pick<BurstResult, 'utilization' | 'throttledPerSuccess' | 'p50Seconds' | 'p99Seconds' | 'disablingSeconds'>;

export function burstFigures(result: BurstResult): BurstFigures {
  const { utilization, throttledPerSuccess, p50Seconds, p99Seconds, disablingSeconds } = result;
  return { utilization, throttledPerSuccess, p50Seconds, p99Seconds, disablingSeconds };
}

/** Per figure, |a - b| over the larger of the two (0 when both are 0 or absent). */
export function deviations(a: BurstFigures, b: BurstFigures): Record<keyof BurstFigures, number> {
  const result = {} as Record<keyof BurstFigures, number>;
  for (const name of Object.keys(a) as (keyof BurstFigures)[]) {
    const [x, y] = [a[name] ?? 0, b[name] ?? 0];
    const scale = Math.max(Math.abs(x), Math.abs(y));
    result[name] = scale === 0 ? 0 : Math.abs(x - y) / scale;
  }
  return result;
}

export async function runDeterminism(size: number): Promise<DeterminismResult> {
  const wallStart = performance.now();
  const quiet = await runBurst(size);
  const hog = busyCore();
  let loaded: BurstResult;
  try {
    loaded = await runBurst(size);
  } finally {
    hog.kill();
  }
  const figures = [burstFigures(quiet), burstFigures(loaded)] as const;
  return {
    size,
    quiet: figures[0],
    loaded: figures[1],
    maxDeviation: rounded(Math.max(...Object.values(deviations(...figures))), 4),
    failed: quiet.failed + loaded.failed,
    wallSeconds: rounded((performance.now() - wallStart) / 1000, 1),
  };
}

export function busyCore(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}
