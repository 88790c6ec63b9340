import type { Activity } from './activity.ts';

/**
 * Work a service goes on with after answering its caller: EventBridge delivering to targets, SNS
 * to subscribers, Lambda running an asynchronous invocation. Tests and the main job wait for it
 * to settle; a failure in it is reported, never left as an unhandled rejection.
 */
export class BackgroundWork {
  private readonly pending = new Set<Promise<void>>();
  private readonly report: (error: unknown) => void;
  private readonly activity: Activity | undefined;

  /** `activity` counts each piece of work as a unit, so a discrete clock waits for it. */
  constructor(report: (error: unknown) => void, activity?: Activity) {
    this.report = report;
    this.activity = activity;
  }

  track(label: string, work: () => Promise<void>): void {
    // Work that goes on by itself: not the caller's, which may answer and end meanwhile.
    const activity = this.activity;
    const started = activity ? activity.detached(() => activity.run(label, work)) : work();
    const settled: Promise<void> = started.catch(this.report).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves once nothing is pending, including work started by work that was. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
