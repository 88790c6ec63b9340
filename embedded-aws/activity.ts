import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the embedded AWS is doing right now, so that a discrete-event clock knows when it may jump:
 * virtual time stands still while any unit of work runs (a request being served, a function being
 * invoked, a delivery being made) and moves on only when every unit is either finished or asleep on
 * the clock (a Wait state, a retry backoff, a paced worker between two calls).
 *
 * A unit knows it is asleep because the clock asks: the async context a sleep is called from names
 * the innermost unit that called it. One limit follows: a unit that waits on another unit over the
 * wire (a handler's long-poll of SQS, say) counts as working while the other sleeps, and time would
 * never move; the pipeline's handlers make no such call.
 */
export class Activity {
  private readonly current = new AsyncLocalStorage<Unit>();
  private readonly working = new Set<Unit>();

  /**
   * Runs `work` as one unit: busy until it settles, except while it sleeps on the clock. Run from
   * within another unit (a delivery that invokes a function and awaits it), the caller counts as
   * waiting on it meanwhile, so that when the inner unit sleeps, nothing is at work. Work that goes
   * on by itself (a delivery after an answered request) is started `detached` instead.
   */
  run<T>(label: string, work: () => Promise<T>): Promise<T> {
    const caller = this.current.getStore();
    const unit: Unit = { label, sleeps: 0, ended: false };
    this.working.add(unit);
    const done = this.current.run(unit, async () => {
      try {
        return await work();
      } finally {
        unit.ended = true;
        this.working.delete(unit);
      }
    });
    return caller ? this.waitingAs(caller, done) : done;
  }

  /**
   * Marks the calling unit (if any) as waiting, not working, until `wake` settles: a sleep on the
   * clock, or a callback only another unit can give (a task token's answer).
   */
  waitFor<T>(wake: Promise<T>): Promise<T> {
    const unit = this.current.getStore();
    return unit ? this.waitingAs(unit, wake) : wake;
  }

  /** Runs `work` outside every unit: what it starts (an execution) outlives the caller and is not its work. */
  detached<T>(work: () => T): T {
    return this.current.exit(work);
  }

  /** True while some unit runs and is not asleep on the clock. */
  get busy(): boolean {
    return this.working.size > 0;
  }

  /** The units at work, for a diagnosis of a run that never settles. */
  describe(): string[] {
    return [...this.working].map((unit) => unit.label);
  }

  private async waitingAs<T>(unit: Unit, wake: Promise<T>): Promise<T> {
    if (unit.ended) return wake;
    unit.sleeps++;
    this.working.delete(unit);
    try {
      return await wake;
    } finally {
      unit.sleeps--;
      if (unit.sleeps === 0 && !unit.ended) this.working.add(unit);
    }
  }
}

interface Unit {
  label: string;
  sleeps: number;
  ended: boolean;
}
