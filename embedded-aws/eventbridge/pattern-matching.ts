/**
 * Matching an event against a compiled event pattern, as the event bus does.
 *
 * Semantics follow the EventBridge User Guide (event patterns, content filtering, arrays, null values)
 * and, where the guide is silent, AWS's own matcher, Event Ruler (github.com/aws/event-ruler), which
 * EventBridge runs: fields are AND, values in a list are OR, an array in the event matches if any
 * element does, and fields inside objects that sit in different elements of one array never combine
 * into a match ("array-consistent" matching).
 */
import type { JsonObject } from '../protocol.ts';
import { type CompiledPattern, compilePattern, type NumericBound, parseEventPattern, type PatternNode, type Scalar, type ValueMatcher } from './event-pattern.ts';
import { inRange } from './ip-ranges.ts';

interface Leaf {
  value: Scalar;
  /** Which element of which array (numbered in document order) this value sits in. */
  arrays: ReadonlyMap<number, number>;
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flatten(event: unknown): Map<string, Leaf[]> {
  const leaves = new Map<string, Leaf[]>();
  let arrayCount = 0;
  const walk = (node: unknown, path: string, arrays: ReadonlyMap<number, number>): void => {
    if (Array.isArray(node)) {
      const arrayId = arrayCount++;
      node.forEach((element, index) => walk(element, path, new Map(arrays).set(arrayId, index)));
    } else if (isPlainObject(node)) {
      for (const [key, value] of Object.entries(node)) walk(value, path === '' ? key : `${path}.${key}`, arrays);
    } else if (node === null || typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
      const list = leaves.get(path);
      if (list) list.push({ value: node, arrays });
      else leaves.set(path, [{ value: node, arrays }]);
    }
  };
  walk(event, '', new Map());
  return leaves;
}

const compiledCache = new WeakMap<object, CompiledPattern>();

/**
 * Whether `event` (the JSON event as EventBridge delivers it: `source`, `detail-type`, `detail`...)
 * matches `pattern` (an event pattern object or its JSON text, or one compiled by `compilePattern`).
 * An invalid pattern throws InvalidEventPatternException.
 */
export function matchesPattern(pattern: JsonObject | string | CompiledPattern, event: unknown): boolean {
  let compiled: CompiledPattern;
  if (typeof pattern === 'string') compiled = parseEventPattern(pattern);
  else if (Array.isArray(pattern)) compiled = pattern;
  else {
    compiled = compiledCache.get(pattern) ?? compilePattern(pattern);
    compiledCache.set(pattern, compiled);
  }
  return matchNodes(compiled, flatten(event), new Map());
}

function matchNodes(nodes: readonly PatternNode[], leaves: Map<string, Leaf[]>, binding: ReadonlyMap<number, number>): boolean {
  const [node, ...rest] = nodes;
  if (!node) return true;
  if (node.kind === 'or') {
    return node.alternatives.some((alternative) => matchNodes([...alternative, ...rest], leaves, binding));
  }
  const candidates = leaves.get(node.path) ?? [];
  if (candidates.length === 0) {
    // Only `exists: false` matches a field that is absent, or that is an object rather than a leaf.
    return node.matchers.some((matcher) => matcher.kind === 'exists' && !matcher.present) && matchNodes(rest, leaves, binding);
  }
  for (const leaf of candidates) {
    if (!isConsistent(leaf, binding)) continue;
    if (!node.matchers.some((matcher) => matchesValue(matcher, leaf.value))) continue;
    if (matchNodes(rest, leaves, bind(leaf, binding))) return true;
  }
  return false;
}

function isConsistent(leaf: Leaf, binding: ReadonlyMap<number, number>): boolean {
  for (const [arrayId, index] of leaf.arrays) {
    const bound = binding.get(arrayId);
    if (bound !== undefined && bound !== index) return false;
  }
  return true;
}

function bind(leaf: Leaf, binding: ReadonlyMap<number, number>): ReadonlyMap<number, number> {
  if (leaf.arrays.size === 0) return binding;
  const extended = new Map(binding);
  for (const [arrayId, index] of leaf.arrays) extended.set(arrayId, index);
  return extended;
}

function matchesValue(matcher: ValueMatcher, value: Scalar): boolean {
  switch (matcher.kind) {
    case 'exact':
      return value === matcher.value;
    case 'prefix':
      if (typeof value !== 'string') return false;
      return matcher.ignoreCase ? value.toLowerCase().startsWith(matcher.value.toLowerCase()) : value.startsWith(matcher.value);
    case 'suffix':
      if (typeof value !== 'string') return false;
      return matcher.ignoreCase ? value.toLowerCase().endsWith(matcher.value.toLowerCase()) : value.endsWith(matcher.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === matcher.value.toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && matcher.pattern.test(value);
    case 'anything-but':
      return !matcher.excluded.some((excluded) => matchesValue(excluded, value));
    case 'numeric':
      return typeof value === 'number' && matcher.bounds.every((bound) => compare(value, bound));
    case 'exists':
      return matcher.present;
    case 'cidr':
      return typeof value === 'string' && inRange(value, matcher.range);
  }
}

function compare(value: number, bound: NumericBound): boolean {
  switch (bound.operator) {
    case '=':
      return value === bound.value;
    case '<':
      return value < bound.value;
    case '<=':
      return value <= bound.value;
    case '>':
      return value > bound.value;
    case '>=':
      return value >= bound.value;
  }
}
