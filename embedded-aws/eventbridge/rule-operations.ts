/** PutRule, DescribeRule, ListRules, EnableRule, DisableRule, DeleteRule. */
import type { JsonObject } from '../protocol.ts';
import type { EventBridgeBackend, EventBridgeOperation } from './event-bridge-backend.ts';
import { DEFAULT_BUS, type Rule, type RuleState, ruleArn, type Scope } from './event-bus-store.ts';
import { parseEventPattern } from './event-pattern.ts';
import { validateEventPatternLength, validateRuleName, validateRuleState } from './request-validation.ts';
import { InvalidScheduleExpression, parseScheduleExpression, type Schedule } from './schedule-expression.ts';
import { describeRule, optionalString, paginate, requiredString, validationError } from './wire-format.ts';

/** Creates the rule or replaces it, keeping its targets (PutRule); a new schedule starts at once. */
export function upsertRule(backend: EventBridgeBackend, scope: Scope, input: JsonObject): Rule {
  const name = requiredString(input, 'Name');
  validateRuleName(name);
  const eventPattern = optionalString(input, 'EventPattern');
  const scheduleExpression = optionalString(input, 'ScheduleExpression');
  if (eventPattern === undefined && scheduleExpression === undefined) throw validationError('Parameter(s) EventPattern or ScheduleExpression must be specified.');
  if (eventPattern !== undefined) validateEventPatternLength(eventPattern);
  const state = validateRuleState(optionalString(input, 'State') ?? 'ENABLED');
  const pattern = eventPattern === undefined ? undefined : parseEventPattern(eventPattern);
  const bus = backend.store.existingBus(scope, optionalString(input, 'EventBusName'));
  let schedule: Schedule | undefined;
  if (scheduleExpression !== undefined) {
    if (bus.name !== DEFAULT_BUS) throw validationError('ScheduleExpression is supported only on the default event bus.');
    try {
      schedule = parseScheduleExpression(scheduleExpression);
    } catch (error) {
      if (error instanceof InvalidScheduleExpression) throw validationError('Parameter ScheduleExpression is not valid.');
      throw error;
    }
  }
  const existing = bus.rules.get(name);
  existing?.unscheduled.abort();
  const rule: Rule = {
    name,
    arn: ruleArn(scope, bus.name, name),
    eventBusName: bus.name,
    ...(eventPattern !== undefined ? { eventPattern } : {}),
    ...(pattern ? { pattern } : {}),
    ...(schedule ? { schedule } : {}),
    scheduleAnchor:
      existing?.schedule !== undefined && existing.schedule.expression === scheduleExpression ? existing.scheduleAnchor : backend.clock.now().getTime(),
    unscheduled: new AbortController(),
    state,
    description: optionalString(input, 'Description'),
    roleArn: optionalString(input, 'RoleArn'),
    targets: existing?.targets ?? new Map(),
  };
  bus.rules.set(name, rule);
  if (rule.schedule) void backend.schedules.run(rule, scope);
  return rule;
}

function setRuleState(backend: EventBridgeBackend, input: JsonObject, scope: Scope, state: RuleState): JsonObject {
  backend.store.existingRule(scope, requiredString(input, 'Name'), optionalString(input, 'EventBusName')).state = state;
  return {};
}

export const RULE_OPERATIONS: Record<string, EventBridgeOperation> = {
  PutRule(backend, input, scope) {
    return { RuleArn: upsertRule(backend, scope, input).arn };
  },

  DescribeRule(backend, input, scope) {
    const rule = backend.store.existingRule(scope, requiredString(input, 'Name'), optionalString(input, 'EventBusName'));
    return { ...describeRule(rule), CreatedBy: scope.accountId };
  },

  ListRules(backend, input, scope) {
    const bus = backend.store.existingBus(scope, optionalString(input, 'EventBusName'));
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const rules = [...bus.rules.values()].filter((rule) => rule.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(rules, input);
    return { Rules: page.items.map(describeRule), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  },

  EnableRule: (backend, input, scope) => setRuleState(backend, input, scope, 'ENABLED'),

  DisableRule: (backend, input, scope) => setRuleState(backend, input, scope, 'DISABLED'),

  DeleteRule(backend, input, scope) {
    const name = requiredString(input, 'Name');
    const bus = backend.store.existingBus(scope, optionalString(input, 'EventBusName'));
    const rule = bus.rules.get(name);
    if (!rule) return {};
    if (rule.targets.size > 0 && input.Force !== true) throw validationError("Rule can't be deleted since it has targets.");
    rule.unscheduled.abort();
    bus.rules.delete(name);
    return {};
  },
};
