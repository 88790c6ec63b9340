/**
 * The model: event buses per account and Region, their rules, and each rule's targets. Every account
 * and Region has a `default` bus from the start, as in EventBridge.
 */
import type { Clock } from '../clock.ts';
import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import type { EventBridgeEvent, RuleTarget } from './event-bridge-event.ts';
import type { CompiledPattern } from './event-pattern.ts';
import type { Schedule } from './schedule-expression.ts';

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

export const RULE_STATES: readonly RuleState[] = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];

export const DEFAULT_BUS = 'default';

export type Scope = Pick<RequestContext, 'region' | 'accountId'>;

export interface Rule {
  name: string;
  arn: string;
  eventBusName: string;
  eventPattern?: string;
  pattern?: CompiledPattern;
  schedule?: Schedule;
  /** When a rate schedule started: the rule's creation, or the last change of its expression. */
  scheduleAnchor: number;
  /** Stops this version of the rule's schedule when the rule is replaced or deleted. */
  unscheduled: AbortController;
  state: RuleState;
  description?: string;
  roleArn?: string;
  targets: Map<string, RuleTarget>;
}

export interface EventBus {
  name: string;
  arn: string;
  description?: string;
  createdAt: Date;
  lastModifiedAt: Date;
  rules: Map<string, Rule>;
}

const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

export class EventBusStore {
  /** Event buses by `${accountId}/${region}`, then by name. */
  private readonly scopes = new Map<string, Map<string, EventBus>>();

  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  buses(scope: Scope): Map<string, EventBus> {
    const key = `${scope.accountId}/${scope.region}`;
    let buses = this.scopes.get(key);
    if (!buses) {
      const now = this.clock.now();
      buses = new Map([[DEFAULT_BUS, { name: DEFAULT_BUS, arn: busArn(scope, DEFAULT_BUS), createdAt: now, lastModifiedAt: now, rules: new Map() }]]);
      this.scopes.set(key, buses);
    }
    return buses;
  }

  /** `nameOrArn` may be a bus name or ARN; undefined means the default bus. */
  existingBus(scope: Scope, nameOrArn: string | undefined): EventBus {
    let name = nameOrArn ?? DEFAULT_BUS;
    if (name.startsWith('arn:')) {
      const match = /^arn:aws[\w-]*:events:([^:]+):(\d{12}):event-bus\/(.+)$/.exec(name);
      if (!match || match[1] !== scope.region || match[2] !== scope.accountId) {
        throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
      }
      name = match[3] as string;
    }
    const bus = this.buses(scope).get(name);
    if (!bus) throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  }

  existingRule(scope: Scope, name: string, busNameOrArn: string | undefined): Rule {
    const bus = this.existingBus(scope, busNameOrArn);
    const rule = bus.rules.get(name);
    if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus.name}.`);
    return rule;
  }
}

export function busArn(scope: Scope, name: string): string {
  return `arn:aws:events:${scope.region}:${scope.accountId}:event-bus/${name}`;
}

/** Rules on the default bus have ARN `rule/<name>`; on a custom bus, `rule/<bus>/<name>`. */
export function ruleArn(scope: Scope, busName: string, name: string): string {
  const path = busName === DEFAULT_BUS ? name : `${busName}/${name}`;
  return `arn:aws:events:${scope.region}:${scope.accountId}:rule/${path}`;
}

/**
 * A rule in state ENABLED does not receive read-only management events that CloudTrail delivers
 * (Decrypt, DescribeKey...); only ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS does. Documented in
 * the EventBridge User Guide, "Receiving read-only management events from AWS services".
 */
export function receives(rule: Rule, event: EventBridgeEvent): boolean {
  if (rule.state === 'DISABLED') return false;
  if (rule.state === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') return true;
  const readOnlyManagementEvent = event['detail-type'] === CLOUDTRAIL_DETAIL_TYPE && (event.detail as JsonObject).readOnly === true;
  return !readOnlyManagementEvent;
}
