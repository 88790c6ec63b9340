/** PutTargets, ListTargetsByRule, RemoveTargets. */
import type { JsonObject } from '../protocol.ts';
import type { EventBridgeBackend, EventBridgeOperation } from './event-bridge-backend.ts';
import type { Scope } from './event-bus-store.ts';
import { assertTargetQuota, parseTarget, validateTargetsRequest } from './request-validation.ts';
import { optionalString, paginate, requiredString, validationError } from './wire-format.ts';

/** Adds the targets to the rule, or replaces those with the same Id; all or none. */
export function putTargets(backend: EventBridgeBackend, scope: Scope, input: JsonObject): JsonObject {
  const rule = backend.store.existingRule(scope, requiredString(input, 'Rule'), optionalString(input, 'EventBusName'));
  const targets = validateTargetsRequest(input.Targets);
  const parsed = targets.map((target, index) => parseTarget(target, index + 1, scope));
  assertTargetQuota(new Set([...rule.targets.keys(), ...parsed.map((target) => target.Id)]));
  for (const target of parsed) rule.targets.set(target.Id, target);
  return { FailedEntryCount: 0, FailedEntries: [] };
}

export const TARGET_OPERATIONS: Record<string, EventBridgeOperation> = {
  PutTargets: (backend, input, scope) => putTargets(backend, scope, input),

  ListTargetsByRule(backend, input, scope) {
    const rule = backend.store.existingRule(scope, requiredString(input, 'Rule'), optionalString(input, 'EventBusName'));
    const page = paginate([...rule.targets.values()], input);
    return { Targets: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  },

  RemoveTargets(backend, input, scope) {
    const rule = backend.store.existingRule(scope, requiredString(input, 'Rule'), optionalString(input, 'EventBusName'));
    const ids = input.Ids;
    if (!Array.isArray(ids) || ids.length === 0) throw validationError("Value null at 'ids' failed to satisfy constraint: Member must not be null");
    for (const id of ids) if (typeof id === 'string') rule.targets.delete(id);
    return { FailedEntryCount: 0, FailedEntries: [] };
  },
};
