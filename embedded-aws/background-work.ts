/**
 * Work a service goes on with after answering its caller: EventBridge delivering to targets, SNS
 * to subscribers, Lambda running an asynchronous invocation. Tests and the main job wait for it
 * to settle; a failure in it is reported, never left as an unhandled rejection.
 */
export class BackgroundWork {
  private readonly pending = new Set<Promise<void>>();
  private readonly report: (error: unknown) => void;

  constructor(report: (error: unknown) => void) {
    this.report = report;
  }

  track(work: Promise<void>): void {
    const settled: Promise<void> = work.catch(this.report).finally(() => this.pending.delete(settled));
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
