/**
 * EventBridge event patterns: the validation PutRule applies and the matching the event bus does.
 *
 * Semantics follow the EventBridge User Guide (event patterns, content filtering, arrays, null values)
 * and, where the guide is silent, AWS's own matcher, Event Ruler (github.com/aws/event-ruler), which
 * EventBridge runs: fields are AND, values in a list are OR, an array in the event matches if any
 * element does, and fields inside objects that sit in different elements of one array never combine
 * into a match ("array-consistent" matching).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { AwsServiceError, type JsonObject } from '../protocol.ts';

type Scalar = string | number | boolean | null;

type ValueMatcher =
  | { kind: 'exact'; value: Scalar }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'wildcard'; pattern: RegExp }
  | { kind: 'anything-but'; excluded: ValueMatcher[] }
  | { kind: 'numeric'; bounds: NumericBound[] }
  | { kind: 'exists'; present: boolean }
  | { kind: 'cidr'; range: IpRange };

interface NumericBound {
  operator: '=' | '<' | '<=' | '>' | '>=';
  value: number;
}

interface IpRange {
  family: 4 | 6;
  network: bigint;
  mask: bigint;
}

/** A compiled pattern: every node must match (AND); an `or` node needs one of its alternatives. */
export type CompiledPattern = PatternNode[];

type PatternNode =
  | { kind: 'field'; path: string; matchers: ValueMatcher[] }
  | { kind: 'or'; alternatives: PatternNode[][] };

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
  'equals-ignore-case',
  'wildcard',
]);

function invalid(reason: string): AwsServiceError {
  return new AwsServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the `EventPattern` string of PutRule, rejecting what EventBridge rejects. */
export function parseEventPattern(text: string): CompiledPattern {
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch (error) {
    throw invalid(`the pattern is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return compilePattern(pattern);
}

/** Throws InvalidEventPatternException for a pattern PutRule would refuse. */
export function validatePattern(pattern: unknown): void {
  if (typeof pattern === 'string') parseEventPattern(pattern);
  else compilePattern(pattern);
}

export function compilePattern(pattern: unknown): CompiledPattern {
  if (!isPlainObject(pattern)) throw invalid('Filter is not an object');
  return compileObject(pattern, '');
}

function compileObject(pattern: JsonObject, prefix: string): PatternNode[] {
  const nodes: PatternNode[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or' && isOrList(value)) {
      nodes.push({ kind: 'or', alternatives: value.map((alternative) => compileObject(alternative, prefix)) });
      continue;
    }
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(value)) {
      nodes.push(...compileObject(value, path));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw invalid(`Empty arrays are not allowed (field "${path}")`);
      nodes.push({ kind: 'field', path, matchers: value.map((entry) => compileMatcher(entry, path)) });
    } else {
      throw invalid(`"${path}" must be an object or an array`);
    }
  }
  return nodes;
}

/**
 * Event Ruler reads `$or` as OR only when it holds at least two objects none of which is itself an
 * operator; otherwise `$or` is an ordinary field name (kept for backward compatibility).
 */
function isOrList(value: unknown): value is JsonObject[] {
  return (
    Array.isArray(value) &&
    value.length >= 2 &&
    value.every((alternative) => isPlainObject(alternative) && Object.keys(alternative).every((key) => !OPERATORS.has(key)))
  );
}

function compileMatcher(entry: unknown, path: string): ValueMatcher {
  if (entry === null || typeof entry === 'string' || typeof entry === 'boolean') return { kind: 'exact', value: entry };
  if (typeof entry === 'number') {
    if (!Number.isFinite(entry)) throw invalid(`"${path}" holds a number that is not finite`);
    return { kind: 'exact', value: entry };
  }
  if (!isPlainObject(entry)) throw invalid(`Match value must be String, number, true, false, or null (field "${path}")`);
  const keys = Object.keys(entry);
  const [operator] = keys;
  if (operator === undefined || keys.length !== 1) {
    throw invalid(`a match expression must hold exactly one operator (field "${path}")`);
  }
  const operand = entry[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return compileAffix(operator, operand, path);
    case 'equals-ignore-case':
      return { kind: 'equals-ignore-case', value: requireString(operand, operator, path) };
    case 'wildcard':
      return { kind: 'wildcard', pattern: compileWildcard(requireString(operand, operator, path), path) };
    case 'anything-but':
      return { kind: 'anything-but', excluded: compileAnythingBut(operand, path) };
    case 'numeric':
      return { kind: 'numeric', bounds: compileNumeric(operand, path) };
    case 'exists':
      if (typeof operand !== 'boolean') throw invalid(`exists match pattern must be either true or false (field "${path}")`);
      return { kind: 'exists', present: operand };
    case 'cidr':
      return { kind: 'cidr', range: parseCidr(requireString(operand, operator, path), path) };
    default:
      throw invalid(`Unrecognized match type ${operator} (field "${path}")`);
  }
}

function requireString(operand: unknown, operator: string, path: string): string {
  if (typeof operand !== 'string') throw invalid(`${operator} match pattern must be a string (field "${path}")`);
  return operand;
}

function compileAffix(operator: 'prefix' | 'suffix', operand: unknown, path: string): ValueMatcher {
  if (typeof operand === 'string') return { kind: operator, value: operand, ignoreCase: false };
  if (isPlainObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string') {
    return { kind: operator, value: operand['equals-ignore-case'], ignoreCase: true };
  }
  throw invalid(`${operator} match pattern must be a string or an equals-ignore-case object (field "${path}")`);
}

function compileAnythingBut(operand: unknown, path: string): ValueMatcher[] {
  if (typeof operand === 'string' || typeof operand === 'number') return [{ kind: 'exact', value: operand }];
  if (Array.isArray(operand)) {
    const allStrings = operand.every((value) => typeof value === 'string');
    const allNumbers = operand.every((value) => typeof value === 'number');
    if (operand.length === 0 || !(allStrings || allNumbers)) {
      throw invalid(`Inside anything-but list, mixed types or non-scalar values are not allowed (field "${path}")`);
    }
    return operand.map((value) => ({ kind: 'exact', value: value as string | number }));
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const [operator] = keys;
    if (operator === undefined || keys.length !== 1) {
      throw invalid(`anything-but accepts exactly one nested operator (field "${path}")`);
    }
    const values = stringOrStrings(operand[operator], `anything-but ${operator}`, path);
    switch (operator) {
      case 'prefix':
      case 'suffix':
        return values.map((value) => ({ kind: operator, value, ignoreCase: false }));
      case 'equals-ignore-case':
        return values.map((value) => ({ kind: 'equals-ignore-case', value }));
      case 'wildcard':
        return values.map((value) => ({ kind: 'wildcard', pattern: compileWildcard(value, path) }));
      default:
        throw invalid(`Unsupported anything-but pattern: ${operator} (field "${path}")`);
    }
  }
  throw invalid(`anything-but must be a string, a number, a list, or an object (field "${path}")`);
}

function stringOrStrings(operand: unknown, operator: string, path: string): string[] {
  if (typeof operand === 'string') return [operand];
  if (Array.isArray(operand) && operand.length > 0 && operand.every((value) => typeof value === 'string')) {
    return operand as string[];
  }
  throw invalid(`${operator} must be a string or a list of strings (field "${path}")`);
}

function compileNumeric(operand: unknown, path: string): NumericBound[] {
  const malformed = () => invalid(`Value of numeric must be an array of comparisons (field "${path}")`);
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) throw malformed();
  const bounds: NumericBound[] = [];
  for (let index = 0; index < operand.length; index += 2) {
    const operator = operand[index];
    const value = operand[index + 1];
    if (operator !== '=' && operator !== '<' && operator !== '<=' && operator !== '>' && operator !== '>=') {
      throw invalid(`Unrecognized numeric range operator: ${String(operator)} (field "${path}")`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`Value of ${operator} must be a number (field "${path}")`);
    }
    bounds.push({ operator, value });
  }
  const [first, second] = bounds;
  if (first && second) {
    // A range is one lower and one upper bound, as in [">", 0, "<=", 5].
    const lower = (bound: NumericBound) => bound.operator === '>' || bound.operator === '>=';
    const upper = (bound: NumericBound) => bound.operator === '<' || bound.operator === '<=';
    if (!((lower(first) && upper(second)) || (upper(first) && lower(second)))) {
      throw invalid(`a numeric range needs one lower and one upper bound (field "${path}")`);
    }
  }
  return bounds;
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal asterisk and `\\` a literal
 * backslash. Event Ruler rejects consecutive wildcards and any other escape.
 */
function compileWildcard(wildcard: string, path: string): RegExp {
  let source = '';
  let previousWasWildcard = false;
  for (let index = 0; index < wildcard.length; index++) {
    const character = wildcard[index] as string;
    if (character === '\\') {
      const escaped = wildcard[index + 1];
      if (escaped !== '*' && escaped !== '\\') {
        throw invalid(`Invalid escape in wildcard "${wildcard}": only \\* and \\\\ are allowed (field "${path}")`);
      }
      source += escapeRegExp(escaped);
      index++;
      previousWasWildcard = false;
    } else if (character === '*') {
      if (previousWasWildcard) throw invalid(`Consecutive wildcard characters in "${wildcard}" (field "${path}")`);
      source += '.*';
      previousWasWildcard = true;
    } else {
      source += escapeRegExp(character);
      previousWasWildcard = false;
    }
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseCidr(cidr: string, path: string): IpRange {
  const malformed = () => invalid(`Malformed CIDR "${cidr}" (field "${path}")`);
  const slash = cidr.indexOf('/');
  if (slash < 0) throw malformed();
  const address = parseIp(cidr.slice(0, slash));
  const lengthText = cidr.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lengthText)) throw malformed();
  const bits = address.family === 4 ? 32 : 128;
  const prefixLength = Number(lengthText);
  if (prefixLength > bits) throw malformed();
  const all = (1n << BigInt(bits)) - 1n;
  const mask = (all << BigInt(bits - prefixLength)) & all;
  return { family: address.family, network: address.value & mask, mask };
}

function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigInt(text) };
  if (!isIPv6(text)) return undefined;
  let head = text;
  let tail: string[] = [];
  // An IPv6 address may end in dotted IPv4 notation (::ffff:10.0.0.1): turn it into two groups.
  const lastColon = head.lastIndexOf(':');
  const dotted = head.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const value = ipv4ToBigInt(dotted);
    head = `${head.slice(0, lastColon + 1)}${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
  }
  const halves = head.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  if (halves.length === 2) tail = halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...left, ...Array<string>(8 - left.length - tail.length).fill('0'), ...tail] : left;
  const value = groups.reduce((total, group) => (total << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
  return { family: 6, value };
}

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((total, octet) => (total << 8n) | BigInt(Number(octet)), 0n);
}

interface Leaf {
  value: Scalar;
  /** Which element of which array (numbered in document order) this value sits in. */
  arrays: ReadonlyMap<number, number>;
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
    case 'cidr': {
      if (typeof value !== 'string') return false;
      const address = parseIp(value);
      return address !== undefined && address.family === matcher.range.family && (address.value & matcher.range.mask) === matcher.range.network;
    }
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
