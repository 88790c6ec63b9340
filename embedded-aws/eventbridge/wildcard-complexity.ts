/**
 * EventBridge refuses a rule whose wildcard filters would make matching too costly: "Rule is too
 * complex - try using fewer wildcard characters or fewer repeating character sequences after a
 * wildcard character" (InvalidEventPatternException, EventBridge User Guide, "Wildcard matching
 * complexity"). The measure is Event Ruler's MachineComplexityEvaluator: the greatest number of
 * wildcard-pattern prefixes that one value can match at once, over the wildcard filters of one field.
 * Each prefix counts once per pattern (a prefix shared by two patterns counts twice, a duplicate
 * pattern once), and Event Ruler quotes string values, so `*.png` is evaluated as `"*.png"`.
 */

// Event Ruler leaves the ceiling to its host and EventBridge does not publish its own, so it is set
// from AWS's answers to real rules: `*.bif`, `*.tiff`, `*.tif`, `*.svs` on one field (complexity 8)
// is accepted, and so is `*/datasync/*.bif` with `*/datasync/*.tif` (8); those two with
// `*/datasync/*.tiff` and `*/datasync/*.svs` (16) are refused as too complex. Any ceiling from 8 to
// 15 reproduces that; 10 is also what other EventBridge emulators settled on.
export const MAX_WILDCARD_COMPLEXITY = 10;

const ANY = -1;

/** The byte sequence of one wildcard pattern, quoted as Event Ruler stores it; ANY stands for `*`. */
function tokensOf(wildcard: string): number[] {
  const bytes = Buffer.from(`"${wildcard}"`, 'utf8');
  const tokens: number[] = [];
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index] as number;
    if (byte === 0x5c) {
      tokens.push(bytes[index + 1] as number);
      index++;
    } else tokens.push(byte === 0x2a ? ANY : byte);
  }
  return tokens;
}

/**
 * The complexity of the wildcard filters on one field, capped at `cap` + 1 (evaluation stops once the
 * ceiling is passed). Builds one NFA per pattern, whose state i is "the first i tokens match what was
 * read", and explores every set of states a value can reach, as MachineComplexityEvaluator does.
 */
export function wildcardComplexity(wildcards: readonly string[], cap = MAX_WILDCARD_COMPLEXITY): number {
  const patterns = [...new Set(wildcards)].map(tokensOf);
  if (patterns.length === 0) return 0;
  const alphabet = new Set<number>();
  for (const tokens of patterns) for (const token of tokens) if (token !== ANY) alphabet.add(token);
  // One byte outside every pattern stands for all such bytes: they lead to the same states.
  const symbols = [...alphabet, 256];

  // A state is [pattern, tokens matched]; a `*` can match nothing, so reaching i also reaches i + 1 past stars.
  const close = (states: Set<number>[]): Set<number>[] =>
    states.map((positions, pattern) => {
      const tokens = patterns[pattern] as number[];
      const closed = new Set(positions);
      for (const position of positions) {
        let next = position;
        while (tokens[next] === ANY) closed.add(++next);
      }
      return closed;
    });
  const step = (states: Set<number>[], symbol: number): Set<number>[] =>
    close(
      states.map((positions, pattern) => {
        const tokens = patterns[pattern] as number[];
        const next = new Set<number>();
        for (const position of positions) {
          if (position > 0 && tokens[position - 1] === ANY) next.add(position);
          if (position < tokens.length && tokens[position] === symbol) next.add(position + 1);
        }
        return next;
      }),
    );
  // Non-empty prefixes matched: every reached state but the start one.
  const size = (states: Set<number>[]): number => states.reduce((total, positions) => total + [...positions].filter((position) => position > 0).length, 0);
  const keyOf = (states: Set<number>[]): string => states.map((positions) => [...positions].sort((a, b) => a - b).join(',')).join('|');

  const start = close(patterns.map(() => new Set([0])));
  const seen = new Set([keyOf(start)]);
  const pending = [start];
  let maximum = 0;
  while (pending.length > 0) {
    const states = pending.pop() as Set<number>[];
    for (const symbol of symbols) {
      const next = step(states, symbol);
      const reached = size(next);
      if (reached === 0) continue;
      maximum = Math.max(maximum, reached);
      if (maximum > cap) return maximum;
      const key = keyOf(next);
      if (!seen.has(key)) {
        seen.add(key);
        pending.push(next);
      }
    }
  }
  return maximum;
}
