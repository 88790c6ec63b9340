import { readFileSync } from 'node:fs';

/**
 * `erasure diagram`: the erasure state machine as a Mermaid `stateDiagram-v2`, generated from
 * statemachines/erasure.asl.json, so the picture in README.md can be checked against the machine
 * that really runs instead of drifting from it.
 */
const ERASURE_DEFINITION = new URL('../../statemachines/erasure.asl.json', import.meta.url);

/** The parts of an Amazon States Language definition the diagram draws; Resources are left out. */
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
}

export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: AslChoiceRule[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  ItemProcessor?: AslDefinition;
  /** The pre-2022 name of ItemProcessor, still accepted by Step Functions. */
  Iterator?: AslDefinition;
  Branches?: AslDefinition[];
  /** Resource, Parameters, Retry...: not drawn. */
  [field: string]: unknown;
}

export type AslChoiceRule = { Next?: string; And?: AslChoiceRule[]; Or?: AslChoiceRule[]; Not?: AslChoiceRule; Variable?: string; Condition?: string } & Record<string, unknown>;

const INDENT = '    ';

export function readErasureDefinition(): AslDefinition {
  return JSON.parse(readFileSync(ERASURE_DEFINITION, 'utf8')) as AslDefinition;
}

/** The Mermaid text for a definition: states in the order the definition lists them, edges in the order each state names them. */
export function stateMachineDiagram(definition: AslDefinition): string {
  const ids = stateIds(definition);
  return ['stateDiagram-v2', ...machineLines(definition, ids, 1)].join('\n');
}

function machineLines(machine: AslDefinition, ids: Map<string, string>, depth: number): string[] {
  const pad = INDENT.repeat(depth);
  const id = (name: string) => ids.get(name) ?? name;
  const lines = [`${pad}[*] --> ${id(machine.StartAt)}`];
  for (const [name, state] of Object.entries(machine.States)) {
    const from = id(name);
    if (from !== name) lines.push(`${pad}state "${name}" as ${from}`);
    const inner = innerMachines(state);
    if (inner.length > 0) {
      lines.push(`${pad}state ${from} {`);
      inner.forEach((branch, index) => {
        if (index > 0) lines.push(`${pad}${INDENT}--`);
        lines.push(...machineLines(branch, ids, depth + 1));
      });
      lines.push(`${pad}}`);
    } else {
      lines.push(`${pad}${from} : ${describeState(state)}`);
    }
    for (const edge of edgesOf(state)) {
      lines.push(`${pad}${from} --> ${edge.to === null ? '[*]' : id(edge.to)}${edge.label ? ` : ${label(edge.label)}` : ''}`);
    }
  }
  return lines;
}

function innerMachines(state: AslState): AslDefinition[] {
  if (state.Type === 'Map') {
    const processor = state.ItemProcessor ?? state.Iterator;
    return processor ? [processor] : [];
  }
  if (state.Type === 'Parallel') return state.Branches ?? [];
  return [];
}

function describeState(state: AslState): string {
  if (state.Type !== 'Wait') return state.Type;
  if (state.Seconds !== undefined) return `Wait ${state.Seconds} seconds`;
  if (state.SecondsPath !== undefined) return `Wait ${fieldName(state.SecondsPath)} seconds`;
  if (state.Timestamp !== undefined) return `Wait until ${state.Timestamp}`;
  if (state.TimestampPath !== undefined) return `Wait until ${fieldName(state.TimestampPath)}`;
  return 'Wait';
}

interface Edge {
  /** null: the end of the (sub-)machine. */
  to: string | null;
  label?: string;
}

function edgesOf(state: AslState): Edge[] {
  const edges: Edge[] = [];
  if (state.Next !== undefined) edges.push({ to: state.Next });
  for (const rule of state.Choices ?? []) {
    if (rule.Next !== undefined) edges.push({ to: rule.Next, label: describeCondition(rule) });
  }
  if (state.Default !== undefined) edges.push({ to: state.Default, label: 'otherwise' });
  for (const catcher of state.Catch ?? []) edges.push({ to: catcher.Next, label: describeErrors(catcher.ErrorEquals) });
  if (state.End === true || state.Type === 'Succeed' || state.Type === 'Fail') edges.push({ to: null });
  return edges;
}

function describeErrors(errors: string[]): string {
  return errors.map((error) => (error === 'States.ALL' ? 'any error' : error)).join(', ');
}

const COMPARISON = /^(String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals|Matches)(Path)?$/;
const SYMBOLS: Record<string, string> = { Equals: '=', LessThan: '<', GreaterThan: '>', LessThanEquals: '<=', GreaterThanEquals: '>=', Matches: 'matches' };
const TYPE_TESTS: Record<string, string> = { IsNull: 'null', IsPresent: 'present', IsString: 'a string', IsNumeric: 'a number', IsBoolean: 'a boolean', IsTimestamp: 'a timestamp' };

/** A Choice rule as a person reads it: `status = Deleted`, `count >= limit`, `error is present`. */
export function describeCondition(rule: AslChoiceRule): string {
  if (typeof rule.Condition === 'string') return rule.Condition;
  if (rule.And) return rule.And.map(nested).join(' and ');
  if (rule.Or) return rule.Or.map(nested).join(' or ');
  if (rule.Not) return `not ${nested(rule.Not)}`;
  const variable = fieldName(rule.Variable ?? '$');
  for (const [operator, operand] of Object.entries(rule)) {
    const comparison = COMPARISON.exec(operator);
    if (comparison) {
      const value = comparison[3] ? fieldName(String(operand)) : String(operand);
      return `${variable} ${SYMBOLS[comparison[2]!]} ${value}`;
    }
    const tested = TYPE_TESTS[operator];
    if (tested) return `${variable} is ${operand === true ? '' : 'not '}${tested}`;
  }
  return variable;
}

function nested(rule: AslChoiceRule): string {
  const text = describeCondition(rule);
  return rule.And || rule.Or ? `(${text})` : text;
}

/** The last field a JSONPath names (`$.verification.status` → `status`): what the diagram has room for. */
function fieldName(path: string): string {
  const fields = path.replace(/^\$+/, '').split('.').filter(Boolean);
  return fields.at(-1) ?? 'input';
}

// A newline or semicolon would end a Mermaid statement early.
function label(text: string): string {
  return text.replace(/[\r\n;]+/g, ' ');
}

/**
 * Mermaid ids for the state names: a name that is a plain identifier is its own id; any other
 * (ASL allows spaces and punctuation, up to 80 characters) gets `s<n>` in definition order, with the
 * name as its label. ASL state names are unique across a whole machine, nested ones included.
 */
function stateIds(definition: AslDefinition): Map<string, string> {
  const ids = new Map<string, string>();
  const visit = (machine: AslDefinition) => {
    for (const [name, state] of Object.entries(machine.States)) {
      ids.set(name, /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && !MERMAID_KEYWORDS.has(name.toLowerCase()) ? name : `s${ids.size + 1}`);
      innerMachines(state).forEach(visit);
    }
  };
  visit(definition);
  return ids;
}

const MERMAID_KEYWORDS = new Set(['state', 'note', 'end', 'direction', 'classdef', 'class', 'as']);
