/**
 * EventBridge event patterns: the validation PutRule and TestEventPattern apply, compiling a pattern
 * into the form the event bus matches (pattern-matching.ts).
 *
 * EventBridge runs AWS's Event Ruler (github.com/aws/event-ruler); a pattern it refuses is answered
 * with InvalidEventPatternException, "Event pattern is not valid. Reason: " and Event Ruler's reason
 * (JsonRuleCompiler, WildcardParser, CIDR). AWS then appends the Jackson parser's location
 * (`\n at [Source: ...; line: 1, column: 40]`); its wording depends on the Jackson version behind
 * EventBridge, so the reason is where the embedded answer stops.
 */
import { AwsServiceError, type JsonObject } from '../protocol.ts';
import { type IpRange, parseCidr } from './ip-ranges.ts';
import { MAX_WILDCARD_COMPLEXITY, wildcardComplexity } from './wildcard-complexity.ts';

export { matchesPattern } from './pattern-matching.ts';

export type Scalar = string | number | boolean | null;

export type ValueMatcher =
  | { kind: 'exact'; value: Scalar }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'wildcard'; pattern: RegExp; source: string }
  | { kind: 'anything-but'; excluded: ValueMatcher[] }
  | { kind: 'numeric'; bounds: NumericBound[] }
  | { kind: 'exists'; present: boolean }
  | { kind: 'cidr'; range: IpRange };

export interface NumericBound {
  operator: '=' | '<' | '<=' | '>' | '>=';
  value: number;
}

/** A compiled pattern: every node must match (AND); an `or` node needs one of its alternatives. */
export type CompiledPattern = PatternNode[];

export type PatternNode = { kind: 'field'; path: string; matchers: ValueMatcher[] } | { kind: 'or'; alternatives: PatternNode[][] };

const OPERATORS = new Set(['prefix', 'suffix', 'anything-but', 'numeric', 'exists', 'cidr', 'equals-ignore-case', 'wildcard']);

export function invalidPattern(reason: string): AwsServiceError {
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
    throw invalidPattern(error instanceof Error ? error.message : String(error));
  }
  return compilePattern(pattern);
}

/** Throws InvalidEventPatternException for a pattern PutRule would refuse. */
export function validatePattern(pattern: unknown): void {
  if (typeof pattern === 'string') parseEventPattern(pattern);
  else compilePattern(pattern);
}

export function compilePattern(pattern: unknown): CompiledPattern {
  if (!isPlainObject(pattern)) throw invalidPattern('Filter is not an object');
  const compiled = compileObject(pattern, '');
  assertNotTooComplex(compiled);
  return compiled;
}

function compileObject(pattern: JsonObject, prefix: string): PatternNode[] {
  const nodes: PatternNode[] = [];
  if (Object.keys(pattern).length === 0) throw invalidPattern('Empty objects are not allowed');
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or' && isOrList(value)) {
      nodes.push({ kind: 'or', alternatives: value.map((alternative) => compileObject(alternative, prefix)) });
      continue;
    }
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(value)) {
      nodes.push(...compileObject(value, path));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw invalidPattern('Empty arrays are not allowed');
      nodes.push({ kind: 'field', path, matchers: value.map(compileMatcher) });
    } else {
      throw invalidPattern(`"${key}" must be an object or an array`);
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

function compileMatcher(entry: unknown): ValueMatcher {
  if (entry === null || typeof entry === 'string' || typeof entry === 'boolean') return { kind: 'exact', value: entry };
  if (typeof entry === 'number') return { kind: 'exact', value: entry };
  if (!isPlainObject(entry)) throw invalidPattern('Match value must be String, number, true, false, or null');
  const keys = Object.keys(entry);
  const [operator] = keys;
  if (operator === undefined) throw invalidPattern('Match expression name not found');
  if (keys.length !== 1) {
    throw invalidPattern(operator === 'numeric' || operator === 'anything-but' ? 'Too many elements in numeric expression' : 'Only one key allowed in match expression');
  }
  const operand = entry[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return compileAffix(operator, operand);
    case 'equals-ignore-case':
      return { kind: 'equals-ignore-case', value: requireString(operand, 'equals-ignore-case match pattern must be a string') };
    case 'wildcard':
      return compileWildcard(requireString(operand, 'wildcard match pattern must be a string'));
    case 'anything-but':
      return { kind: 'anything-but', excluded: compileAnythingBut(operand) };
    case 'numeric':
      return { kind: 'numeric', bounds: compileNumeric(operand) };
    case 'exists':
      if (typeof operand !== 'boolean') throw invalidPattern('exists match pattern must be either true or false.');
      return { kind: 'exists', present: operand };
    case 'cidr': {
      // Event Ruler words a non-string CIDR as it words a non-string prefix.
      const range = parseCidr(requireString(operand, 'prefix match pattern must be a string'));
      if ('invalid' in range) throw invalidPattern(range.invalid);
      return { kind: 'cidr', range };
    }
    default:
      throw invalidPattern(`Unrecognized match type ${operator}`);
  }
}

function requireString(operand: unknown, reason: string): string {
  if (typeof operand !== 'string') throw invalidPattern(reason);
  return operand;
}

function compileAffix(operator: 'prefix' | 'suffix', operand: unknown): ValueMatcher {
  if (typeof operand === 'string') return { kind: operator, value: operand, ignoreCase: false };
  if (isPlainObject(operand)) {
    const [nested] = Object.keys(operand);
    if (nested !== 'equals-ignore-case') throw invalidPattern(`Unsupported ${operator} pattern: ${nested ?? ''}`);
    const value = requireString(operand[nested], 'equals-ignore-case match pattern must be a string');
    if (Object.keys(operand).length !== 1) throw invalidPattern('Only one key allowed in match expression');
    return { kind: operator, value, ignoreCase: true };
  }
  throw invalidPattern(`${operator} match pattern must be a string`);
}

function compileAnythingBut(operand: unknown): ValueMatcher[] {
  if (isPlainObject(operand)) return compileAnythingButOperator(operand);
  if (typeof operand === 'string' || typeof operand === 'number') return [{ kind: 'exact', value: operand }];
  if (!Array.isArray(operand)) throw invalidPattern('Value of anything-but must be an array or single string/number value.');
  if (operand.some((value) => typeof value !== 'string' && typeof value !== 'number')) {
    throw invalidPattern('Inside anything but list, start|null|boolean is not supported.');
  }
  const allStrings = operand.every((value) => typeof value === 'string');
  const allNumbers = operand.every((value) => typeof value === 'number');
  if (operand.length === 0 || !(allStrings || allNumbers)) {
    throw invalidPattern('Inside anything but list, either all values are number or string, mixed type is not supported');
  }
  return operand.map((value) => ({ kind: 'exact', value: value as string | number }));
}

/** anything-but over prefix, suffix, equals-ignore-case or wildcard: one string or a list of strings. */
function compileAnythingButOperator(operand: JsonObject): ValueMatcher[] {
  const keys = Object.keys(operand);
  const [operator] = keys;
  if (operator === undefined) throw invalidPattern('Anything-But expression name not found');
  if (operator !== 'prefix' && operator !== 'suffix' && operator !== 'equals-ignore-case' && operator !== 'wildcard') {
    throw invalidPattern(`Unsupported anything-but pattern: ${operator}`);
  }
  const value = operand[operator];
  if (!(typeof value === 'string' || Array.isArray(value))) {
    throw invalidPattern('Value of anything-but must be an array or single string/number value.');
  }
  const values = Array.isArray(value) ? value : [value];
  if (values.some((entry) => typeof entry !== 'string')) {
    throw invalidPattern(
      operator === 'equals-ignore-case'
        ? 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
        : operator === 'wildcard'
          ? 'wildcard match pattern must be a string'
          : 'prefix/suffix match pattern must be a string',
    );
  }
  if (keys.length !== 1) throw invalidPattern('Too many elements in numeric expression');
  return (values as string[]).map((text): ValueMatcher => {
    switch (operator) {
      case 'prefix':
      case 'suffix':
        // An empty prefix or suffix would exclude every value: EventBridge refuses it.
        if (text === '') throw invalidPattern('Null prefix/suffix not allowed');
        return { kind: operator, value: text, ignoreCase: false };
      case 'equals-ignore-case':
        return { kind: 'equals-ignore-case', value: text };
      case 'wildcard':
        return compileWildcard(text);
    }
  });
}

const COMPARISONS = new Set(['=', '<', '<=', '>', '>=']);

/**
 * Event Ruler's numeric grammar: `=`, `<` and `<=` take one value; `>` and `>=` one value, or one
 * value followed by `<` or `<=` and a greater value.
 */
function compileNumeric(operand: unknown): NumericBound[] {
  if (!Array.isArray(operand)) throw invalidPattern('Value of numeric must be an array.');
  const [operator, value, secondOperator, secondValue, ...rest] = operand as unknown[];
  if (typeof operator !== 'string') throw invalidPattern(`Invalid member in numeric match: ${tokenText(operator)}`);
  if (!COMPARISONS.has(operator)) throw invalidPattern(`Unrecognized numeric range operator: ${operator}`);
  if (typeof value !== 'number') throw invalidPattern(`Value of ${operator === '=' ? 'equals' : operator} must be numeric`);
  const bounds: NumericBound[] = [{ operator: operator as NumericBound['operator'], value }];
  if (operand.length === 2) return bounds;
  if (operator !== '>' && operator !== '>=') throw invalidPattern('Too many elements in numeric expression');
  if (typeof secondOperator !== 'string') throw invalidPattern(`Bad value in numeric range: ${tokenText(secondOperator)}`);
  if (secondOperator !== '<' && secondOperator !== '<=') throw invalidPattern(`Bad numeric range operator: ${secondOperator}`);
  if (typeof secondValue !== 'number') throw invalidPattern(`Value of ${secondOperator} must be numeric`);
  if (rest.length > 0) throw invalidPattern('Too many terms in numeric range expression');
  if (secondValue <= value) throw invalidPattern('Bottom must be less than top');
  bounds.push({ operator: secondOperator, value: secondValue });
  return bounds;
}

/** What Jackson's getText() shows for the JSON token where a string was expected. */
function tokenText(value: unknown): string {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (typeof value === 'object' && value !== null) return '{';
  return String(value);
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal asterisk and `\\` a literal
 * backslash. Event Ruler's WildcardParser refuses consecutive wildcards and any other escape, giving
 * the byte position in the quoted value (`"dir/**.png"`: pos 5).
 */
function compileWildcard(wildcard: string): ValueMatcher & { kind: 'wildcard' } {
  const bytes = Buffer.from(`"${wildcard}"`, 'utf8');
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === 0x2a && bytes[index + 1] === 0x2a) throw invalidPattern(`Consecutive wildcard characters at pos ${index}`);
    if (bytes[index] === 0x5c) {
      const escaped = bytes[index + 1];
      if (escaped !== 0x2a && escaped !== 0x5c) throw invalidPattern(`Invalid escape character at pos ${index}`);
      index++;
    }
  }
  let source = '';
  for (let index = 0; index < wildcard.length; index++) {
    const character = wildcard[index] as string;
    if (character === '\\') source += escapeRegExp(wildcard[++index] as string);
    else source += character === '*' ? '.*' : escapeRegExp(character);
  }
  return { kind: 'wildcard', pattern: new RegExp(`^${source}$`, 's'), source: wildcard };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The `wildcard` filters of each field, wherever in the pattern they sit, against the complexity ceiling. */
function assertNotTooComplex(pattern: CompiledPattern): void {
  const wildcardsByField = new Map<string, string[]>();
  const collect = (nodes: readonly PatternNode[]): void => {
    for (const node of nodes) {
      if (node.kind === 'or') {
        node.alternatives.forEach(collect);
        continue;
      }
      for (const matcher of node.matchers) {
        if (matcher.kind !== 'wildcard') continue;
        const wildcards = wildcardsByField.get(node.path) ?? [];
        wildcards.push(matcher.source);
        wildcardsByField.set(node.path, wildcards);
      }
    }
  };
  collect(pattern);
  for (const wildcards of wildcardsByField.values()) {
    if (wildcardComplexity(wildcards) > MAX_WILDCARD_COMPLEXITY) {
      throw invalidPattern('Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character');
    }
  }
}
