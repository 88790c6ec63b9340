import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocalReplay, type ReplayInputEvent } from '../cli/commands/replay-local.ts';
import { sampleClosure } from './closure-world.ts';
import { rounded } from './metrics.ts';

export interface ReplayResult {
  closures: number;
  /** Closures replayed to the end of their erasure per wall-clock second, the embedded AWS's start included. */
  closuresPerSecond: number;
  wallSeconds: number;
  /** What the replay reported for each event, by outcome. */
  outcomes: Record<string, number>;
}

/** `closures` closures through `erasure replay`'s local code path: a world of keys, every erasure run to its end. */
export async function runReplay(closures: number): Promise<ReplayResult> {
  const directory = mkdtempSync(join(tmpdir(), 'erasure-bench-'));
  try {
    const subjectIds = Array.from({ length: closures }, (_, index) => `replay-subject-${String(index).padStart(5, '0')}`);
    const world = join(directory, 'world.json');
    writeFileSync(world, JSON.stringify({ keys: subjectIds.map((subjectId) => ({ subjectId })) }));
    const sample = sampleClosure();
    const closedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const inputs: ReplayInputEvent[] = subjectIds.map((subjectId) => {
      // No id and no time: the replay gives each event its own, as a fresh publication.
      const { id: _id, time: _time, ...event } = sample;
      return { origin: `bench:${subjectId}`, event: { ...event, detail: { ...sample.detail, subjectId, closedAt, reason: 'benchmark' } } };
    });
    const started = performance.now();
    const report = await runLocalReplay(inputs, { world });
    const wallSeconds = (performance.now() - started) / 1000;
    return {
      closures,
      closuresPerSecond: rounded(closures / wallSeconds, 2),
      wallSeconds: rounded(wallSeconds, 1),
      outcomes: Object.fromEntries(Object.entries(report.summary).sort(([a], [b]) => a.localeCompare(b))),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
