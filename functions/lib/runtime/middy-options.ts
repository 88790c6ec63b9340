/**
 * Middy's early timeout is off in every handler: it is a host timer (setTimeout) armed from the
 * context's remaining time, the one clock lib/runtime/clock.ts does not govern. On AWS it would only
 * fail an invocation 5 ms before Lambda's own timeout does; on the embedded AWS, where time is
 * virtual, it fires on the host's time, which a busy simulation spends far faster (it stalled a
 * 10,000-closure burst for a 90-minute visibility timeout).
 */
export const MIDDY_OPTIONS = { timeoutEarlyInMillis: 0 };
