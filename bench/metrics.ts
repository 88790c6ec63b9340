/**
 * The benchmark's figures, computed from plain numbers (instants, counts) so that they can be
 * checked on hand-made inputs, whatever produced the numbers.
 */

/**
 * Keys disabled per second over the span from the first DisableKey success to the last, divided
 * by the DisableKey quota. The rate counts the intervals between successes (n - 1 over the span),
 * so a caller that keeps exactly at the quota scores 1. KMS's bucket starts full, so the first
 * second's burst can lift a small run slightly above 1. Null when fewer than two keys were disabled,
 * or all at one instant: there is no span to divide by.
 */
export function utilization(successAtMs: readonly number[], quotaPerSecond: number): number | null {
  if (successAtMs.length < 2) return null;
  let first = Infinity;
  let last = -Infinity;
  for (const at of successAtMs) {
    first = Math.min(first, at);
    last = Math.max(last, at);
  }
  const spanSeconds = (last - first) / 1000;
  if (spanSeconds <= 0) return null;
  return (successAtMs.length - 1) / spanSeconds / quotaPerSecond;
}

/** The nearest-rank percentile (the smallest value with at least `percent` % of values at or below it); null for no values. */
export function percentile(values: readonly number[], percent: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

/**
 * Pairs taken out of order: for values listed in arrival order, the pairs (i < j) where the earlier
 * arrival has the strictly later value. Equal values (two keys disabled at one virtual instant) are
 * in order. Counted by merge sort, so a 10,000-closure burst costs n log n, not n².
 */
export function inversions(valuesInArrivalOrder: readonly number[]): number {
  const values = [...valuesInArrivalOrder];
  const scratch = new Array<number>(values.length);
  const sortCounting = (low: number, high: number): number => {
    if (high - low < 2) return 0;
    const middle = (low + high) >>> 1;
    let count = sortCounting(low, middle) + sortCounting(middle, high);
    let left = low;
    let right = middle;
    let out = low;
    while (left < middle && right < high) {
      if (values[left]! <= values[right]!) {
        scratch[out++] = values[left++]!;
      } else {
        // Every value still on the left arrived earlier and is later than this one.
        count += middle - left;
        scratch[out++] = values[right++]!;
      }
    }
    while (left < middle) scratch[out++] = values[left++]!;
    while (right < high) scratch[out++] = values[right++]!;
    for (let index = low; index < high; index++) values[index] = scratch[index]!;
    return count;
  };
  return sortCounting(0, values.length);
}

/** The share of all pairs that are out of order: 0 when every key was disabled in arrival order, 1 when in reverse. */
export function outOfOrder(valuesInArrivalOrder: readonly number[]): number {
  const pairs = (valuesInArrivalOrder.length * (valuesInArrivalOrder.length - 1)) / 2;
  return pairs === 0 ? 0 : inversions(valuesInArrivalOrder) / pairs;
}

/** Rounds to a fixed number of decimals, so results.json does not churn on float noise. */
export function rounded(value: number, decimals = 4): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
