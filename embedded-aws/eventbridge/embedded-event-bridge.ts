/**
 * The embedded EventBridge: event buses, rules (event patterns and schedules) and targets over AWS
 * JSON 1.1 (`AWSEvents.*`), with
 * asynchronous, retried, dead-lettered delivery to targets on the virtual clock.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import {
  AwsServiceError,
  epochSeconds,
  type AwsEvent,
  type FaultInjector,
  type JsonObject,
  type JsonService,
  type RequestContext,
} from '../protocol.ts';
import { type CompiledPattern, matchesPattern, parseEventPattern } from './event-pattern.ts';
import { InvalidScheduleExpression, nextFireTime, parseScheduleExpression, type Schedule } from './schedule-expression.ts';

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

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

/** Hands one event to one target (starts a state machine, invokes a function...). Rejecting means "not delivered". */
export type TargetInvoker = (target: RuleTarget, event: EventBridgeEvent) => Promise<void>;

/**
 * Rejecting with this lets the invoker say whether a retry could help. EventBridge sends failures
 * such as a missing permission or a target that no longer exists straight to the dead-letter queue,
 * without retrying (User Guide, "Event retry policy and using dead-letter queues").
 */
export class TargetInvocationError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean } = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}

export type ExhaustedRetryCondition = 'MaximumRetryAttemptsExhausted' | 'MaximumEventAgeExhausted';

/** An event that never reached a target, with the message attributes a real EventBridge DLQ message carries. */
export interface FailedDelivery {
  /** `dead-lettered`: kept in the target's dead-letter queue; `dropped`: the target had none, AWS would have lost it. */
  disposition: 'dead-lettered' | 'dropped';
  deadLetterQueueArn?: string;
  event: EventBridgeEvent;
  target: RuleTarget;
  /** Delivery attempts made, the first one included. */
  attempts: number;
  failedAt: string;
  attributes: {
    ERROR_CODE: string;
    ERROR_MESSAGE: string;
    /** Absent when the error was not retryable. */
    EXHAUSTED_RETRY_CONDITION?: ExhaustedRetryCondition | 'EmbeddedEventBridgeClosed';
    RETRY_ATTEMPTS: number;
    RULE_ARN: string;
    TARGET_ARN: string;
  };
}

/** An event that the in-process `putEvent` did not accept because an injected fault said so. */
export interface RejectedEvent {
  event: AwsEvent;
  errorCode: string;
  errorMessage: string;
}

export interface EmbeddedEventBridgeOptions {
  clock: Clock;
  faults?: FaultInjector;
  deliver: TargetInvoker;
  /** If set, every failed delivery is also appended here as one JSON line. */
  deadLetterFile?: string;
  /**
   * The SQS queues dead letters are sent to, when the embedded AWS runs them (the event as the
   * message body, the failure as message attributes, as EventBridge sends them).
   */
  queues?: { send(queueArn: string, body: JsonObject, attributes: Record<string, string | number>): void };
  /** Where failed deliveries are reported as they happen; defaults to `console.warn`. */
  log?: (line: string) => void;
  /** Jitter source for retry back-off; defaults to Math.random. */
  random?: () => number;
  /** How long, in virtual time, an event takes to reach a target (none unless declared). */
  deliveryLatencyMs?: number;
}

/** The rule definition the configuration loader hands to `addRule`. */
export interface RuleDefinition {
  region: string;
  accountId: string;
  name: string;
  /** An event pattern, a schedule expression (`rate(1 day)`, `cron(0 6 * * ? *)`), or both. */
  eventPattern?: string | JsonObject;
  scheduleExpression?: string;
  state?: RuleState;
  description?: string;
  eventBusName?: string;
  targets?: RuleTarget[];
}

interface Rule {
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

interface EventBus {
  name: string;
  arn: string;
  description?: string;
  createdAt: Date;
  lastModifiedAt: Date;
  rules: Map<string, Rule>;
}

const DEFAULT_BUS = 'default';
const RULE_STATES: readonly RuleState[] = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];
const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
const MAX_ENTRIES_PER_PUT_EVENTS = 10;
const MAX_PUT_EVENTS_BYTES = 256 * 1024;
const MAX_TARGETS_PER_RULE = 5;
const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185;
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400;
// EventBridge documents "exponential back off and jitter" but not its constants. Doubling from one
// second up to eight minutes makes 185 retries span about 24 hours, which is what its defaults pair.
const FIRST_RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 8 * 60_000;
const PAGE_SIZE = 100;

export class EmbeddedEventBridge implements JsonService {
  readonly targetPrefix = 'AWSEvents';

  private readonly clock: Clock;
  private readonly deliveryLatencyMs: number;
  private readonly faults: FaultInjector | undefined;
  private readonly deliver: TargetInvoker;
  private readonly deadLetterFile: string | undefined;
  private readonly queues: EmbeddedEventBridgeOptions['queues'];
  private readonly log: (line: string) => void;
  private readonly random: () => number;
  /** Event buses by `${accountId}/${region}`, then by name. */
  private readonly scopes = new Map<string, Map<string, EventBus>>();
  private readonly deliveries: BackgroundWork;
  private readonly failed: FailedDelivery[] = [];
  private readonly rejected: RejectedEvent[] = [];
  private readonly shutdown = new AbortController();
  private deadLetterFileWrites: Promise<void> = Promise.resolve();
  /** Each scheduled rule's next instant: one that has come is a delivery about to start. */
  private readonly nextFirings = new Map<Rule, number>();

  constructor(options: EmbeddedEventBridgeOptions) {
    this.clock = options.clock;
    this.deliveryLatencyMs = options.deliveryLatencyMs ?? 0;
    this.faults = options.faults;
    this.deliver = options.deliver;
    this.deadLetterFile = options.deadLetterFile;
    this.queues = options.queues;
    this.log = options.log ?? ((line) => console.warn(line));
    this.random = options.random ?? Math.random;
    this.deliveries = new BackgroundWork((error) => this.log(`[events] delivery bookkeeping failed: ${String(error)}`), options.clock.activity);
  }

  async handle(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject> {
    const fault = this.faults?.({ service: 'events', operation, input, region: context.region });
    if (fault) throw fault;
    switch (operation) {
      case 'CreateEventBus':
        return this.createEventBus(input, context);
      case 'DescribeEventBus':
        return this.describeEventBus(input, context);
      case 'ListEventBuses':
        return this.listEventBuses(input, context);
      case 'DeleteEventBus':
        return this.deleteEventBus(input, context);
      case 'PutRule':
        return this.putRule(input, context);
      case 'DescribeRule':
        return this.describeRule(input, context);
      case 'ListRules':
        return this.listRules(input, context);
      case 'EnableRule':
        return this.setRuleState(input, context, 'ENABLED');
      case 'DisableRule':
        return this.setRuleState(input, context, 'DISABLED');
      case 'DeleteRule':
        return this.deleteRule(input, context);
      case 'PutTargets':
        return this.putTargets(input, context);
      case 'ListTargetsByRule':
        return this.listTargetsByRule(input, context);
      case 'RemoveTargets':
        return this.removeTargets(input, context);
      case 'PutEvents':
        return this.putEvents(input, context);
      case 'TestEventPattern':
        return this.testEventPattern(input);
      default:
        throw new AwsServiceError('UnknownOperationException', `The embedded EventBridge does not implement ${operation}.`);
    }
  }

  /**
   * Puts an event on the default bus of its Region, as AWS services do (KMS CMK Deletion, CloudTrail
   * records). Returns the event id, or undefined if an injected fault made EventBridge refuse it; the
   * refusal is kept in `rejectedEvents()`.
   */
  putEvent(event: AwsEvent): string | undefined {
    const fault = this.faults?.({
      service: 'events',
      operation: 'PutEvents',
      input: { Source: event.source, DetailType: event.detailType, Resources: event.resources },
      region: event.region,
    });
    if (fault) {
      this.rejected.push({ event, errorCode: fault.code, errorMessage: fault.message });
      this.log(`[events] ${event.source} "${event.detailType}" was not accepted: ${fault.code}: ${fault.message}`);
      return undefined;
    }
    const delivered: EventBridgeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': event.detailType,
      source: event.source,
      account: event.accountId,
      time: eventTime(event.time),
      region: event.region,
      resources: [...event.resources],
      detail: event.detail,
    };
    this.route(this.bus(event.accountId, event.region, DEFAULT_BUS), delivered);
    return delivered.id;
  }

  /**
   * Delivers an event exactly as given, its id included, onto a bus of its account and Region: what
   * a redelivery, or a replay from an EventBridge archive, puts before the rules again. The
   * default bus unless `eventBusName` names another.
   */
  redeliver(event: EventBridgeEvent, eventBusName = DEFAULT_BUS): void {
    this.route(this.bus(event.account, event.region, eventBusName), structuredClone(event));
  }

  /** Creates or replaces a rule declared in configuration, with its targets; returns the rule ARN. */
  addRule(definition: RuleDefinition): string {
    const context = { region: definition.region, accountId: definition.accountId };
    const eventPattern =
      definition.eventPattern === undefined || typeof definition.eventPattern === 'string' ? definition.eventPattern : JSON.stringify(definition.eventPattern);
    const rule = this.upsertRule(context, {
      Name: definition.name,
      EventPattern: eventPattern,
      ScheduleExpression: definition.scheduleExpression,
      State: definition.state,
      Description: definition.description,
      EventBusName: definition.eventBusName,
    });
    if (definition.targets && definition.targets.length > 0) {
      this.putTargets({ Rule: rule.name, EventBusName: rule.eventBusName, Targets: definition.targets }, context);
    }
    return rule.arn;
  }

  /** Failed deliveries kept in a dead-letter queue: all of them, or those of one queue. */
  deadLetters(queueArn?: string): FailedDelivery[] {
    return this.failed.filter(
      (failure) => failure.disposition === 'dead-lettered' && (queueArn === undefined || failure.deadLetterQueueArn === queueArn),
    );
  }

  /** Failed deliveries whose target had no dead-letter queue: AWS would have discarded these. */
  droppedDeliveries(): FailedDelivery[] {
    return this.failed.filter((failure) => failure.disposition === 'dropped');
  }

  /** Events the in-process `putEvent` refused because of an injected fault. */
  rejectedEvents(): RejectedEvent[] {
    return [...this.rejected];
  }

  /** True while a delivery is in flight (retries waiting on the clock count). */
  get busy(): boolean {
    return this.deliveries.busy || this.firingDue();
  }

  /**
   * Resolves once no delivery is in flight (retries waiting on the clock count as in flight), nor
   * due: a scheduled rule whose instant the clock has reached fires first.
   */
  async idle(): Promise<void> {
    do {
      await this.deliveries.settled();
      await this.deadLetterFileWrites;
      if (this.firingDue()) await new Promise<void>((resolve) => setImmediate(resolve));
    } while (this.busy);
  }

  private firingDue(): boolean {
    const now = this.clock.now().getTime();
    return [...this.nextFirings.values()].some((at) => at <= now);
  }

  /** Stops retrying: deliveries still waiting are recorded as failed, then the service goes quiet. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.idle();
  }

  private createEventBus(input: JsonObject, context: Scope): JsonObject {
    const name = requiredString(input, 'Name');
    if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name) || name.startsWith('aws.')) {
      throw validation(`Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+`);
    }
    const buses = this.buses(context);
    if (buses.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    const now = this.clock.now();
    const bus: EventBus = {
      name,
      arn: busArn(context, name),
      description: optionalString(input, 'Description'),
      createdAt: now,
      lastModifiedAt: now,
      rules: new Map(),
    };
    buses.set(name, bus);
    return { EventBusArn: bus.arn, ...(bus.description ? { Description: bus.description } : {}) };
  }

  private describeEventBus(input: JsonObject, context: Scope): JsonObject {
    const bus = this.existingBus(context, optionalString(input, 'Name'));
    return describeBus(bus);
  }

  private listEventBuses(input: JsonObject, context: Scope): JsonObject {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const buses = [...this.buses(context).values()].filter((bus) => bus.name.startsWith(prefix));
    const page = paginate(buses, input);
    return { EventBuses: page.items.map(describeBus), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  }

  private deleteEventBus(input: JsonObject, context: Scope): JsonObject {
    const name = requiredString(input, 'Name');
    if (name === DEFAULT_BUS) throw validation('Cannot delete event bus default.');
    this.buses(context).delete(name);
    return {};
  }

  private putRule(input: JsonObject, context: Scope): JsonObject {
    return { RuleArn: this.upsertRule(context, input).arn };
  }

  private upsertRule(context: Scope, input: JsonObject): Rule {
    const name = requiredString(input, 'Name');
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(name)) {
      throw validation(`Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
    }
    const eventPattern = optionalString(input, 'EventPattern');
    const scheduleExpression = optionalString(input, 'ScheduleExpression');
    if (eventPattern === undefined && scheduleExpression === undefined) throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    if (eventPattern !== undefined && eventPattern.length > 4096) {
      throw validation("Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to 4096");
    }
    const state = (optionalString(input, 'State') ?? 'ENABLED') as RuleState;
    if (!RULE_STATES.includes(state)) {
      throw validation(`Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [${RULE_STATES.join(', ')}]`);
    }
    const pattern = eventPattern === undefined ? undefined : parseEventPattern(eventPattern);
    const bus = this.existingBus(context, optionalString(input, 'EventBusName'));
    let schedule: Schedule | undefined;
    if (scheduleExpression !== undefined) {
      if (bus.name !== DEFAULT_BUS) throw validation('ScheduleExpression is supported only on the default event bus.');
      try {
        schedule = parseScheduleExpression(scheduleExpression);
      } catch (error) {
        if (error instanceof InvalidScheduleExpression) throw validation('Parameter ScheduleExpression is not valid.');
        throw error;
      }
    }
    const existing = bus.rules.get(name);
    existing?.unscheduled.abort();
    const rule: Rule = {
      name,
      arn: ruleArn(context, bus.name, name),
      eventBusName: bus.name,
      ...(eventPattern !== undefined ? { eventPattern } : {}),
      ...(pattern ? { pattern } : {}),
      ...(schedule ? { schedule } : {}),
      scheduleAnchor:
        existing?.schedule !== undefined && existing.schedule.expression === scheduleExpression ? existing.scheduleAnchor : this.clock.now().getTime(),
      unscheduled: new AbortController(),
      state,
      description: optionalString(input, 'Description'),
      roleArn: optionalString(input, 'RoleArn'),
      targets: existing?.targets ?? new Map(),
    };
    bus.rules.set(name, rule);
    if (rule.schedule) void this.runSchedule(rule, context);
    return rule;
  }

  /**
   * Puts a `Scheduled Event` to the rule's targets at each instant of its schedule, on the virtual
   * clock, while the rule is enabled. Instants a jump of the clock passed over fire at once, in order.
   */
  private async runSchedule(rule: Rule, context: Scope): Promise<void> {
    const schedule = rule.schedule as Schedule;
    const stopped = AbortSignal.any([rule.unscheduled.signal, this.shutdown.signal]);
    let after = this.clock.now().getTime();
    for (;;) {
      const at = nextFireTime(schedule, after, rule.scheduleAnchor);
      if (at === undefined) break;
      this.nextFirings.set(rule, at);
      await this.clock.sleepUntil(new Date(at), stopped);
      if (stopped.aborted) break;
      after = at;
      if (rule.state === 'DISABLED') continue;
      const event: EventBridgeEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: context.accountId,
        time: eventTime(new Date(at)),
        region: context.region,
        resources: [rule.arn],
        detail: {},
      };
      for (const target of rule.targets.values()) this.deliveries.track(`delivery to ${target.Arn}`, () => this.deliverWithRetries(rule.arn, { ...target }, event));
    }
    this.nextFirings.delete(rule);
  }

  private describeRule(input: JsonObject, context: Scope): JsonObject {
    const rule = this.existingRule(context, input, 'Name');
    return { ...describeRule(rule), CreatedBy: context.accountId };
  }

  private listRules(input: JsonObject, context: Scope): JsonObject {
    const bus = this.existingBus(context, optionalString(input, 'EventBusName'));
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const rules = [...bus.rules.values()].filter((rule) => rule.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(rules, input);
    return { Rules: page.items.map(describeRule), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  }

  private setRuleState(input: JsonObject, context: Scope, state: RuleState): JsonObject {
    this.existingRule(context, input, 'Name').state = state;
    return {};
  }

  private deleteRule(input: JsonObject, context: Scope): JsonObject {
    const name = requiredString(input, 'Name');
    const bus = this.existingBus(context, optionalString(input, 'EventBusName'));
    const rule = bus.rules.get(name);
    if (!rule) return {};
    if (rule.targets.size > 0 && input.Force !== true) throw validation("Rule can't be deleted since it has targets.");
    rule.unscheduled.abort();
    bus.rules.delete(name);
    return {};
  }

  private putTargets(input: JsonObject, context: Scope): JsonObject {
    const rule = this.existingRule(context, input, 'Rule');
    const targets = input.Targets;
    if (!Array.isArray(targets) || targets.length === 0) {
      throw validation("Value null at 'targets' failed to satisfy constraint: Member must not be null");
    }
    if (targets.length > 10) {
      throw validation("Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10");
    }
    const parsed = targets.map((target, index) => parseTarget(target, index + 1, context));
    const ids = new Set([...rule.targets.keys(), ...parsed.map((target) => target.Id)]);
    if (ids.size > MAX_TARGETS_PER_RULE) {
      throw new AwsServiceError('LimitExceededException', `The requested resource exceeds the maximum number allowed (${MAX_TARGETS_PER_RULE} targets per rule).`);
    }
    for (const target of parsed) rule.targets.set(target.Id, target);
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private listTargetsByRule(input: JsonObject, context: Scope): JsonObject {
    const rule = this.existingRule(context, input, 'Rule');
    const page = paginate([...rule.targets.values()], input);
    return { Targets: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  }

  private removeTargets(input: JsonObject, context: Scope): JsonObject {
    const rule = this.existingRule(context, input, 'Rule');
    const ids = input.Ids;
    if (!Array.isArray(ids) || ids.length === 0) throw validation("Value null at 'ids' failed to satisfy constraint: Member must not be null");
    for (const id of ids) if (typeof id === 'string') rule.targets.delete(id);
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private testEventPattern(input: JsonObject): JsonObject {
    const pattern = parseEventPattern(requiredString(input, 'EventPattern'));
    let event: unknown;
    try {
      event = JSON.parse(requiredString(input, 'Event'));
    } catch {
      throw validation('Parameter Event is not valid.');
    }
    return { Result: matchesPattern(pattern, event) };
  }

  private putEvents(input: JsonObject, context: Scope): JsonObject {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw validation("Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length > MAX_ENTRIES_PER_PUT_EVENTS) {
      throw validation(
        `Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES_PER_PUT_EVENTS}`,
      );
    }
    if (entries.reduce((total: number, entry) => total + entrySize(entry), 0) > MAX_PUT_EVENTS_BYTES) {
      throw validation('Total size of the entries in the request is over the limit.');
    }
    const results = entries.map((entry): JsonObject => {
      try {
        const { bus, event } = this.acceptEntry(entry, context);
        this.route(bus, event);
        return { EventId: event.id };
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        return { ErrorCode: error.code, ErrorMessage: error.message };
      }
    });
    return { FailedEntryCount: results.filter((result) => result.ErrorCode !== undefined).length, Entries: results };
  }

  private acceptEntry(entry: unknown, context: Scope): { bus: EventBus; event: EventBridgeEvent } {
    const fields = isObject(entry) ? entry : {};
    const source = fields.Source;
    const detailType = fields.DetailType;
    const detailText = fields.Detail;
    if (typeof source !== 'string' || source === '') {
      throw new AwsServiceError('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
    }
    if (typeof detailType !== 'string' || detailType === '') {
      throw new AwsServiceError('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
    }
    if (typeof detailText !== 'string' || detailText === '') {
      throw new AwsServiceError('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
    }
    // Only AWS services may put events whose source starts with "aws.".
    if (source.startsWith('aws.')) throw new AwsServiceError('NotAuthorizedForSourceException', 'Not authorized for the source.');
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      throw new AwsServiceError('MalformedDetail', 'Detail is malformed.');
    }
    if (!isObject(detail)) throw new AwsServiceError('MalformedDetail', 'Detail is malformed.');
    const resources = fields.Resources;
    if (resources !== undefined && !(Array.isArray(resources) && resources.every((resource) => typeof resource === 'string'))) {
      throw new AwsServiceError('InvalidArgument', 'Parameter Resources is not valid.');
    }
    const bus = this.existingBus(context, typeof fields.EventBusName === 'string' ? fields.EventBusName : undefined);
    const event: EventBridgeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: context.accountId,
      time: eventTime(parseEntryTime(fields.Time) ?? this.clock.now()),
      region: context.region,
      resources: (resources as string[] | undefined) ?? [],
      detail,
    };
    return { bus, event };
  }

  private route(bus: EventBus, event: EventBridgeEvent): void {
    for (const rule of bus.rules.values()) {
      if (!rule.pattern || !receives(rule, event) || !matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets.values()) this.deliveries.track(`delivery to ${target.Arn}`, () => this.deliverWithRetries(rule.arn, { ...target }, event));
    }
  }

  private async deliverWithRetries(ruleArn: string, target: RuleTarget, event: EventBridgeEvent): Promise<void> {
    // PutEvents answers before any target sees the event, after a modelled latency if declared.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.deliveryLatencyMs > 0) await this.clock.sleep(this.deliveryLatencyMs);
    const receivedAt = this.clock.now().getTime();
    const maximumRetries = target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS;
    const maximumAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS) * 1000;
    let retries = 0;
    for (;;) {
      if (this.shutdown.signal.aborted) {
        const error = { code: 'EmbeddedEventBridgeClosed', message: 'the embedded EventBridge closed before the event was delivered' };
        await this.recordFailure(ruleArn, target, event, error, retries, 'EmbeddedEventBridgeClosed');
        return;
      }
      let failure: { code: string; message: string; retryable: boolean };
      try {
        const fault = this.faults?.({
          service: 'events',
          operation: 'InvokeTarget',
          input: { Rule: ruleArn, Id: target.Id, Arn: target.Arn, EventId: event.id },
          region: event.region,
        });
        if (fault) throw fault;
        await this.deliver(target, event);
        return;
      } catch (error) {
        failure = describeFailure(error);
      }
      if (!failure.retryable) {
        await this.recordFailure(ruleArn, target, event, failure, retries, undefined);
        return;
      }
      if (retries >= maximumRetries) {
        await this.recordFailure(ruleArn, target, event, failure, retries, 'MaximumRetryAttemptsExhausted');
        return;
      }
      const delay = this.retryDelay(retries);
      if (this.clock.now().getTime() + delay - receivedAt > maximumAgeMs) {
        await this.recordFailure(ruleArn, target, event, failure, retries, 'MaximumEventAgeExhausted');
        return;
      }
      await this.clock.sleep(delay, this.shutdown.signal);
      // Timers can wake late; an event that has meanwhile outlived its maximum age is not attempted.
      if (!this.shutdown.signal.aborted && this.clock.now().getTime() - receivedAt > maximumAgeMs) {
        await this.recordFailure(ruleArn, target, event, failure, retries, 'MaximumEventAgeExhausted');
        return;
      }
      retries++;
    }
  }

  /** Exponential back-off with "equal jitter": half the delay is fixed, half random. */
  private retryDelay(retries: number): number {
    const ceiling = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** retries);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private async recordFailure(
    ruleArn: string,
    target: RuleTarget,
    event: EventBridgeEvent,
    error: { code: string; message: string },
    retries: number,
    condition: FailedDelivery['attributes']['EXHAUSTED_RETRY_CONDITION'],
  ): Promise<void> {
    const queueArn = target.DeadLetterConfig?.Arn;
    const failure: FailedDelivery = {
      disposition: queueArn ? 'dead-lettered' : 'dropped',
      ...(queueArn ? { deadLetterQueueArn: queueArn } : {}),
      event,
      target,
      attempts: retries + 1,
      failedAt: this.clock.now().toISOString(),
      attributes: {
        ERROR_CODE: error.code,
        ERROR_MESSAGE: error.message,
        ...(condition ? { EXHAUSTED_RETRY_CONDITION: condition } : {}),
        RETRY_ATTEMPTS: retries,
        RULE_ARN: ruleArn,
        TARGET_ARN: target.Arn,
      },
    };
    this.failed.push(failure);
    if (queueArn) this.queues?.send(queueArn, event as unknown as JsonObject, failure.attributes);
    const where = queueArn
      ? `kept in dead-letter queue ${queueArn}`
      : 'dropped: the target has no DeadLetterConfig, so AWS would have discarded it (kept in droppedDeliveries())';
    this.log(
      `[events] event ${event.id} (${event.source} "${event['detail-type']}") not delivered to ${target.Arn} after ${failure.attempts} attempt(s): ${error.code}: ${error.message}; ${where}`,
    );
    if (this.deadLetterFile) {
      const file = this.deadLetterFile;
      this.deadLetterFileWrites = this.deadLetterFileWrites
        .then(async () => {
          await mkdir(dirname(file), { recursive: true });
          await appendFile(file, `${JSON.stringify(failure)}\n`);
        })
        .catch((error: unknown) => this.log(`[events] could not append to dead-letter file ${file}: ${String(error)}`));
      await this.deadLetterFileWrites;
    }
  }

  private buses(context: Scope): Map<string, EventBus> {
    const key = `${context.accountId}/${context.region}`;
    let buses = this.scopes.get(key);
    if (!buses) {
      const now = this.clock.now();
      buses = new Map([[DEFAULT_BUS, { name: DEFAULT_BUS, arn: busArn(context, DEFAULT_BUS), createdAt: now, lastModifiedAt: now, rules: new Map() }]]);
      this.scopes.set(key, buses);
    }
    return buses;
  }

  private bus(accountId: string, region: string, name: string): EventBus {
    return this.existingBus({ accountId, region }, name);
  }

  /** `nameOrArn` may be a bus name or ARN; undefined means the default bus. */
  private existingBus(context: Scope, nameOrArn: string | undefined): EventBus {
    let name = nameOrArn ?? DEFAULT_BUS;
    if (name.startsWith('arn:')) {
      const match = /^arn:aws[\w-]*:events:([^:]+):(\d{12}):event-bus\/(.+)$/.exec(name);
      if (!match || match[1] !== context.region || match[2] !== context.accountId) {
        throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
      }
      name = match[3] as string;
    }
    const bus = this.buses(context).get(name);
    if (!bus) throw new AwsServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  }

  private existingRule(context: Scope, input: JsonObject, nameField: 'Name' | 'Rule'): Rule {
    const name = requiredString(input, nameField);
    const bus = this.existingBus(context, optionalString(input, 'EventBusName'));
    const rule = bus.rules.get(name);
    if (!rule) throw new AwsServiceError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus.name}.`);
    return rule;
  }
}

type Scope = Pick<RequestContext, 'region' | 'accountId'>;

/**
 * A rule in state ENABLED does not receive read-only management events that CloudTrail delivers
 * (Decrypt, DescribeKey...); only ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS does. Documented in
 * the EventBridge User Guide, "Receiving read-only management events from AWS services".
 */
function receives(rule: Rule, event: EventBridgeEvent): boolean {
  if (rule.state === 'DISABLED') return false;
  if (rule.state === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') return true;
  const readOnlyManagementEvent = event['detail-type'] === CLOUDTRAIL_DETAIL_TYPE && event.detail.readOnly === true;
  return !readOnlyManagementEvent;
}

/** What a target receives given its Input or InputPath: the constant, the selected part, or the whole event. */
export function targetInput(target: RuleTarget, event: EventBridgeEvent): unknown {
  if (target.Input !== undefined) return JSON.parse(target.Input);
  if (target.InputPath === undefined) return event;
  let selected: unknown = event;
  for (const step of target.InputPath.replace(/^\$\.?/, '').split('.').filter((part) => part !== '')) {
    selected = isObject(selected) ? selected[step] : undefined;
  }
  return selected;
}

function parseTarget(raw: unknown, position: number, context: Scope): RuleTarget {
  if (!isObject(raw)) throw validation(`Target ${position} is not an object.`);
  const id = raw.Id;
  const arn = raw.Arn;
  if (typeof id !== 'string' || !/^[.\-_A-Za-z0-9]{1,64}$/.test(id)) {
    throw validation(`Value '${String(id)}' at 'targets.${position}.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
  }
  if (typeof arn !== 'string' || !arn.startsWith('arn:')) throw validation(`Parameter(s) Arn of target ${id} is not valid.`);
  if (raw.InputTransformer !== undefined) {
    throw validation('The embedded EventBridge does not apply InputTransformer; use Input or InputPath.');
  }
  const target: RuleTarget = { Id: id, Arn: arn };
  if (typeof raw.RoleArn === 'string') target.RoleArn = raw.RoleArn;
  if (raw.Input !== undefined && raw.InputPath !== undefined) throw validation('Only one of Input, InputPath and InputTransformer may be given.');
  if (typeof raw.Input === 'string') {
    try {
      JSON.parse(raw.Input);
    } catch {
      throw validation(`Parameter Input of target ${id} is not valid JSON.`);
    }
    target.Input = raw.Input;
  }
  if (typeof raw.InputPath === 'string') target.InputPath = raw.InputPath;
  if (raw.RetryPolicy !== undefined) {
    const policy = isObject(raw.RetryPolicy) ? raw.RetryPolicy : {};
    const retryPolicy: RetryPolicy = {};
    const attempts = policy.MaximumRetryAttempts;
    const age = policy.MaximumEventAgeInSeconds;
    if (attempts !== undefined) {
      if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0 || attempts > 185) {
        throw validation(`Value '${String(attempts)}' at 'targets.${position}.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and 185`);
      }
      retryPolicy.MaximumRetryAttempts = attempts;
    }
    if (age !== undefined) {
      if (typeof age !== 'number' || !Number.isInteger(age) || age < 60 || age > 86_400) {
        throw validation(`Value '${String(age)}' at 'targets.${position}.member.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 86400`);
      }
      retryPolicy.MaximumEventAgeInSeconds = age;
    }
    target.RetryPolicy = retryPolicy;
  }
  if (raw.DeadLetterConfig !== undefined) {
    const queueArn = isObject(raw.DeadLetterConfig) ? raw.DeadLetterConfig.Arn : undefined;
    // The dead-letter queue must be a standard (not FIFO) SQS queue in the rule's Region.
    const match = typeof queueArn === 'string' ? /^arn:aws[\w-]*:sqs:([^:]+):\d{12}:([\w-]+)$/.exec(queueArn) : null;
    if (!match || match[1] !== context.region || (match[2] as string).endsWith('.fifo')) {
      throw validation(`Parameter DeadLetterConfig.Arn of target ${id} is not valid: it must be a standard SQS queue ARN in ${context.region}.`);
    }
    target.DeadLetterConfig = { Arn: queueArn as string };
  }
  return target;
}

function describeFailure(error: unknown): { code: string; message: string; retryable: boolean } {
  if (error instanceof TargetInvocationError) return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof AwsServiceError) return { code: error.code, message: error.message, retryable: true };
  if (error instanceof Error) return { code: error.name, message: error.message, retryable: true };
  return { code: 'Error', message: String(error), retryable: true };
}

function describeBus(bus: EventBus): JsonObject {
  return {
    Name: bus.name,
    Arn: bus.arn,
    ...(bus.description ? { Description: bus.description } : {}),
    CreationTime: epochSeconds(bus.createdAt),
    LastModifiedTime: epochSeconds(bus.lastModifiedAt),
  };
}

function describeRule(rule: Rule): JsonObject {
  return {
    Name: rule.name,
    Arn: rule.arn,
    ...(rule.eventPattern !== undefined ? { EventPattern: rule.eventPattern } : {}),
    ...(rule.schedule ? { ScheduleExpression: rule.schedule.expression } : {}),
    State: rule.state,
    ...(rule.description ? { Description: rule.description } : {}),
    ...(rule.roleArn ? { RoleArn: rule.roleArn } : {}),
    EventBusName: rule.eventBusName,
  };
}

function busArn(context: Scope, name: string): string {
  return `arn:aws:events:${context.region}:${context.accountId}:event-bus/${name}`;
}

/** Rules on the default bus have ARN `rule/<name>`; on a custom bus, `rule/<bus>/<name>`. */
function ruleArn(context: Scope, busName: string, name: string): string {
  const path = busName === DEFAULT_BUS ? name : `${busName}/${name}`;
  return `arn:aws:events:${context.region}:${context.accountId}:rule/${path}`;
}

/** EventBridge writes event times to the second: `2017-12-22T18:43:48Z`. */
function eventTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** JSON 1.1 carries timestamps as epoch seconds; accept ISO text too. */
function parseEntryTime(value: unknown): Date | undefined {
  if (typeof value === 'number') return new Date(value * 1000);
  if (typeof value === 'string') {
    const time = new Date(value);
    return Number.isNaN(time.getTime()) ? undefined : time;
  }
  return undefined;
}

/** The entry size as EventBridge counts it toward the 256 KB PutEvents limit. */
function entrySize(entry: unknown): number {
  if (!isObject(entry)) return 0;
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  const resources = Array.isArray(entry.Resources) ? entry.Resources.reduce((total: number, resource) => total + bytes(resource), 0) : 0;
  return (entry.Time !== undefined ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + resources;
}

function paginate<T>(items: T[], input: JsonObject): { items: T[]; nextToken?: string } {
  const limit = typeof input.Limit === 'number' && input.Limit > 0 ? Math.min(input.Limit, PAGE_SIZE) : PAGE_SIZE;
  const token = optionalString(input, 'NextToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw validation('The NextToken is not valid.');
  const end = start + limit;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(input: JsonObject, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

function requiredString(input: JsonObject, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    const member = field.charAt(0).toLowerCase() + field.slice(1);
    throw validation(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function validation(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message.startsWith('Value') ? `1 validation error detected: ${message}` : message);
}
