/**
 * What EventBridge refuses before it touches a bus or a rule: the service model's constraints (names,
 * lengths, enums, list sizes) and the documented quotas, in AWS's words.
 */
import { AwsServiceError, type JsonObject } from '../protocol.ts';
import type { RetryPolicy, RuleTarget } from './event-bridge-event.ts';
import { RULE_STATES, type RuleState, type Scope } from './event-bus-store.ts';
import {
  MAX_ENTRIES_PER_PUT_EVENTS,
  MAX_EVENT_PATTERN_LENGTH,
  MAX_PUT_EVENTS_BYTES,
  MAX_RULE_NAME_LENGTH,
  MAX_TARGET_ID_LENGTH,
  MAX_TARGETS_PER_PUT_TARGETS,
  MAX_TARGETS_PER_RULE,
  MAXIMUM_EVENT_AGE_SECONDS,
  MAXIMUM_RETRY_ATTEMPTS,
  putEventsEntrySize,
} from './request-limits.ts';
import { isObject, putEventsEntryText, validationError } from './wire-format.ts';

const NAME_CHARACTERS = /^[.\-_A-Za-z0-9]+$/;

export function validateBusName(name: string): void {
  if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name) || name.startsWith('aws.')) {
    throw validationError(`Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+`);
  }
}

export function validateRuleName(name: string): void {
  if (name.length > MAX_RULE_NAME_LENGTH) {
    throw validationError(`Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RULE_NAME_LENGTH}`);
  }
  if (!NAME_CHARACTERS.test(name)) {
    throw validationError(`Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
  }
}

export function validateEventPatternLength(eventPattern: string): void {
  if (eventPattern.length > MAX_EVENT_PATTERN_LENGTH) {
    throw validationError(
      `Value '${eventPattern}' at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to ${MAX_EVENT_PATTERN_LENGTH}`,
    );
  }
}

export function validateRuleState(state: string): RuleState {
  if (!RULE_STATES.includes(state as RuleState)) {
    throw validationError(`Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [${RULE_STATES.join(', ')}]`);
  }
  return state as RuleState;
}

/**
 * The request-level checks of PutEvents. More than ten entries is refused with the entries echoed as
 * AWS's validation prints them: "Value '[PutEventsRequestEntry(...), ...]' at 'entries' failed to
 * satisfy constraint: Member must have length less than or equal to 10".
 */
export function validatePutEventsEntries(entries: unknown): unknown[] {
  if (!Array.isArray(entries)) throw validationError("Value null at 'entries' failed to satisfy constraint: Member must not be null");
  if (entries.length === 0) throw validationError("Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  if (entries.length > MAX_ENTRIES_PER_PUT_EVENTS) {
    throw validationError(
      `Value '[${entries.map(putEventsEntryText).join(', ')}]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES_PER_PUT_EVENTS}`,
    );
  }
  if (entries.reduce((total: number, entry) => total + putEventsEntrySize(entry), 0) > MAX_PUT_EVENTS_BYTES) {
    throw validationError('Total size of the entries in the request is over the limit.');
  }
  return entries;
}

export function validateTargetsRequest(targets: unknown): unknown[] {
  if (!Array.isArray(targets) || targets.length === 0) {
    throw validationError("Value null at 'targets' failed to satisfy constraint: Member must not be null");
  }
  if (targets.length > MAX_TARGETS_PER_PUT_TARGETS) {
    throw validationError(`Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TARGETS_PER_PUT_TARGETS}`);
  }
  return targets;
}

/**
 * A rule holds at most five targets, those it has and those being added together. AWS answers
 * LimitExceededException with its generic quota message, which names no number.
 */
export function assertTargetQuota(targetIds: Set<string>): void {
  if (targetIds.size > MAX_TARGETS_PER_RULE) {
    throw new AwsServiceError('LimitExceededException', 'The requested resource exceeds the maximum number allowed.');
  }
}

export function parseTarget(raw: unknown, position: number, scope: Scope): RuleTarget {
  if (!isObject(raw)) throw validationError(`Target ${position} is not an object.`);
  const id = raw.Id;
  const arn = raw.Arn;
  if (typeof id === 'string' && id.length > MAX_TARGET_ID_LENGTH) {
    throw validationError(`Value '${id}' at 'targets.${position}.member.id' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TARGET_ID_LENGTH}`);
  }
  if (typeof id !== 'string' || !NAME_CHARACTERS.test(id)) {
    throw validationError(`Value '${String(id)}' at 'targets.${position}.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
  }
  if (typeof arn !== 'string' || !arn.startsWith('arn:')) throw validationError(`Parameter(s) Arn of target ${id} is not valid.`);
  if (raw.InputTransformer !== undefined) {
    throw validationError('The embedded EventBridge does not apply InputTransformer; use Input or InputPath.');
  }
  const target: RuleTarget = { Id: id, Arn: arn };
  if (typeof raw.RoleArn === 'string') target.RoleArn = raw.RoleArn;
  if (raw.Input !== undefined && raw.InputPath !== undefined) throw validationError('Only one of Input, InputPath and InputTransformer may be given.');
  if (typeof raw.Input === 'string') {
    try {
      JSON.parse(raw.Input);
    } catch {
      throw validationError(`Parameter Input of target ${id} is not valid JSON.`);
    }
    target.Input = raw.Input;
  }
  if (typeof raw.InputPath === 'string') target.InputPath = raw.InputPath;
  if (raw.RetryPolicy !== undefined) target.RetryPolicy = parseRetryPolicy(raw.RetryPolicy, position);
  if (raw.DeadLetterConfig !== undefined) {
    const queueArn = isObject(raw.DeadLetterConfig) ? raw.DeadLetterConfig.Arn : undefined;
    // The dead-letter queue must be a standard (not FIFO) SQS queue in the rule's Region.
    const match = typeof queueArn === 'string' ? /^arn:aws[\w-]*:sqs:([^:]+):\d{12}:([\w-]+)$/.exec(queueArn) : null;
    if (!match || match[1] !== scope.region || (match[2] as string).endsWith('.fifo')) {
      throw validationError(`Parameter DeadLetterConfig.Arn of target ${id} is not valid: it must be a standard SQS queue ARN in ${scope.region}.`);
    }
    target.DeadLetterConfig = { Arn: queueArn as string };
  }
  return target;
}

function parseRetryPolicy(raw: unknown, position: number): RetryPolicy {
  const policy: JsonObject = isObject(raw) ? raw : {};
  const retryPolicy: RetryPolicy = {};
  const attempts = policy.MaximumRetryAttempts;
  const age = policy.MaximumEventAgeInSeconds;
  if (attempts !== undefined) {
    if (!isIntegerIn(attempts, MAXIMUM_RETRY_ATTEMPTS)) {
      throw validationError(
        `Value '${String(attempts)}' at 'targets.${position}.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between ${MAXIMUM_RETRY_ATTEMPTS.min} and ${MAXIMUM_RETRY_ATTEMPTS.max}`,
      );
    }
    retryPolicy.MaximumRetryAttempts = attempts;
  }
  if (age !== undefined) {
    if (!isIntegerIn(age, MAXIMUM_EVENT_AGE_SECONDS)) {
      throw validationError(
        `Value '${String(age)}' at 'targets.${position}.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between ${MAXIMUM_EVENT_AGE_SECONDS.min} and ${MAXIMUM_EVENT_AGE_SECONDS.max}`,
      );
    }
    retryPolicy.MaximumEventAgeInSeconds = age;
  }
  return retryPolicy;
}

function isIntegerIn(value: unknown, range: { min: number; max: number }): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max;
}
