import { constants, readFileSync } from 'node:fs';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VirtualClock } from './clock.ts';

/** Real time between saves: what a crash (a kill -9) can lose at most. */
const SAVE_INTERVAL_MS = 2_000;

/**
 * Where the embedded AWS keeps its state across restarts (`erasure local --data-dir`): dynalite's
 * LevelDB under `dynamodb/`, and one JSON snapshot per kept part, `<name>.json`, saved every few
 * seconds of real time and on close.
 */
export class DataDirectory {
  readonly path: string;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly timer: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();

  private constructor(path: string, report: (error: unknown) => void) {
    this.path = path;
    this.timer = setInterval(() => this.save({ closing: false }).catch(report), SAVE_INTERVAL_MS).unref();
  }

  /** Creates the directory if need be; refuses, in one line, one that cannot be created or written. */
  static async open(path: string, report: (error: unknown) => void): Promise<DataDirectory> {
    try {
      await mkdir(path, { recursive: true });
    } catch (error) {
      throw new Error(`cannot create the data directory ${path}: ${(error as Error).message}`);
    }
    try {
      await access(path, constants.W_OK);
    } catch {
      throw new Error(`the data directory ${path} is not writable`);
    }
    return new DataDirectory(path, report);
  }

  resolve(name: string): string {
    return join(this.path, name);
  }

  /** The snapshot last saved under `name`, if any. */
  read<T>(name: string): T | undefined {
    try {
      return JSON.parse(readFileSync(this.resolve(`${name}.json`), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${this.resolve(`${name}.json`)}: ${(error as Error).message}`);
    }
  }

  /** Saves `snapshot()` as `<name>.json` from now on, every few seconds and on close. */
  keep(name: string, snapshot: Snapshot): void {
    this.snapshots.set(name, snapshot);
  }

  /** Writes every kept snapshot; each file is replaced whole (written aside, then renamed). */
  private save(moment: { closing: boolean }): Promise<void> {
    const save = async () => {
      for (const [name, snapshot] of this.snapshots) {
        const file = this.resolve(`${name}.json`);
        await writeFile(`${file}.tmp`, `${JSON.stringify(snapshot(moment), null, 2)}\n`);
        await rename(`${file}.tmp`, file);
      }
    };
    this.saving = this.saving.catch(() => undefined).then(save);
    return this.saving;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.save({ closing: true });
  }

  /** Stops saving without a last save: a start that failed leaves the directory as it found it. */
  async abandon(): Promise<void> {
    clearInterval(this.timer);
    await this.saving;
  }
}

/** A part's state as JSON; `closing` tells the last save, on close, from the periodic ones. */
export type Snapshot = (moment: { closing: boolean }) => unknown;

/** clock.json: the instant the clock showed when saved, and the one it resumes from. */
export interface ClockSnapshot {
  now: string;
  /**
   * The latest instant the clock may have shown before the next save was due (two intervals, for
   * a busy event loop): after a crash, resuming there keeps virtual time from going backwards.
   * The same as `now` when saved on close.
   */
  resumeAt: string;
}

export function clockSnapshot(clock: VirtualClock): Snapshot {
  return ({ closing }): ClockSnapshot => {
    const now = clock.nowMs();
    const resumeAt = closing ? now : now + 2 * SAVE_INTERVAL_MS * clock.timeScale;
    return { now: new Date(now).toISOString(), resumeAt: new Date(resumeAt).toISOString() };
  };
}

/** Where a restarted clock starts: where it left off, unless the requested start (by default, now) is later. */
export function resumedStart(saved: ClockSnapshot | undefined, requested: Date | undefined): Date | undefined {
  if (!saved) return requested;
  const resumeAt = new Date(saved.resumeAt);
  const start = requested ?? new Date();
  return resumeAt > start ? resumeAt : start;
}
