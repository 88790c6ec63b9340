/** Subscription filter policies, on message attributes or (FilterPolicyScope MessageBody) on the body. */
import { type CompiledPattern, compilePattern, matchesPattern } from '../eventbridge/event-pattern.ts';
import type { JsonObject } from '../protocol.ts';
import type { PublishedMessage, Subscription } from './sns-model.ts';
import { invalidParameter } from './request-validation.ts';

/**
 * SNS filter policies use the same operators as EventBridge patterns (exact, prefix, suffix,
 * anything-but, numeric, exists, cidr, equals-ignore-case, $or), so one matcher serves both.
 */
export function compileFilterPolicy(policy: string): CompiledPattern {
  try {
    return compilePattern(JSON.parse(policy));
  } catch (error) {
    throw invalidParameter(`Filter policy: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function passesFilter(subscription: Subscription, published: PublishedMessage): boolean {
  if (!subscription.filter) return true;
  if (subscription.attributes.FilterPolicyScope === 'MessageBody') {
    try {
      return matchesPattern(subscription.filter, JSON.parse(published.message));
    } catch {
      return false;
    }
  }
  // Filter policies see String attributes as strings, Number as numbers and String.Array as arrays;
  // Binary attributes are ignored by SNS filtering.
  const attributes: JsonObject = {};
  for (const [name, value] of Object.entries(published.messageAttributes)) {
    if (value.StringValue === undefined) continue;
    if (value.DataType.startsWith('Number')) attributes[name] = Number(value.StringValue);
    else if (value.DataType === 'String.Array') attributes[name] = JSON.parse(value.StringValue) as unknown;
    else attributes[name] = value.StringValue;
  }
  return matchesPattern(subscription.filter, attributes);
}
