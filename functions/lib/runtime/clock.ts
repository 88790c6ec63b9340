/**
 * The handlers' one source of "now", and of waiting. On AWS it is the system clock; a host that
 * runs the handlers in-process (the embedded AWS, whose clock jumps over a 30-day waiting period)
 * installs its own clock here, and tests pin one. No other module in functions/ reads the time or
 * sleeps: a backoff slept here is virtual time to the embedded AWS and real time on Lambda.
 */
export interface TimeSource {
  now(): Date;
  /** Resolves after `ms` milliseconds of this source's time; the system's timers when absent. */
  sleep?(ms: number): Promise<void>;
}

const systemTime: TimeSource = { now: () => new Date() };

// A global slot rather than a module variable: a host may load the handlers through another module
// instance (another bundle or loader) and must still reach the same clock.
const slot = Symbol.for('crypto-erasure.time-source');
type ClockSlot = { [slot]?: TimeSource };

export function now(): Date {
  return ((globalThis as ClockSlot)[slot] ?? systemTime).now();
}

export function sleep(ms: number): Promise<void> {
  const source = (globalThis as ClockSlot)[slot];
  if (source?.sleep) return source.sleep(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Installs `source` as the time of every handler in this process; returns a function that restores the previous one. */
export function useTimeSource(source: TimeSource): () => void {
  const holder = globalThis as ClockSlot;
  const previous = holder[slot];
  holder[slot] = source;
  return () => {
    holder[slot] = previous;
  };
}
