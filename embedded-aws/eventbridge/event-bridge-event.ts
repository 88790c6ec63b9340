/** Events as EventBridge delivers them to targets, and the target settings that shape what a target receives. */
import type { JsonObject } from '../protocol.ts';

/** The event as EventBridge delivers it to a target. */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: JsonObject;
}

export interface RetryPolicy {
  /** 0 to 185; default 185. */
  MaximumRetryAttempts?: number;
  /** 60 to 86,400; default 86,400 (24 hours). */
  MaximumEventAgeInSeconds?: number;
}

/** A rule target as PutTargets takes it (the subset the embedded EventBridge honours). */
export interface RuleTarget {
  Id: string;
  Arn: string;
  RoleArn?: string;
  /** Constant JSON text sent instead of the event. */
  Input?: string;
  /** A JSONPath (`$.detail.key-id`) selecting the part of the event to send. */
  InputPath?: string;
  RetryPolicy?: RetryPolicy;
  /** A standard SQS queue in the rule's Region that receives events whose delivery failed for good. */
  DeadLetterConfig?: { Arn?: string };
}

/** EventBridge writes event times to the second: `2017-12-22T18:43:48Z`. */
export function eventTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a target receives given its Input or InputPath: the constant, the selected part, or the whole event. */
export function targetInput(target: RuleTarget, event: EventBridgeEvent): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input);
  if (target.InputPath === undefined) return event;
  let selected: unknown = event;
  for (const step of target.InputPath.replace(/^\$\.?/, '').split('.').filter((part) => part !== '')) {
    selected = typeof selected === 'object' && selected !== null && !Array.isArray(selected) ? (selected as JsonObject)[step] : undefined;
  }
  return selected;
}
