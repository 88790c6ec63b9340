/**
 * The embedded EventBridge: event buses, rules (event patterns and schedules) and targets over AWS
 * JSON 1.1 (`AWSEvents.*`), with asynchronous, retried, dead-lettered delivery to targets on the
 * virtual clock. This class is the service's face: it dispatches wire operations (bus-, rule-,
 * target- and event-operations.ts) and serves the in-process calls of the other embedded services.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { AwsServiceError, type AwsEvent, type FaultInjector, type JsonObject, type JsonService, type RequestContext } from '../protocol.ts';
import { BUS_OPERATIONS } from './bus-operations.ts';
import type { EventBridgeBackend, EventBridgeOperation } from './event-bridge-backend.ts';
import { type EventBridgeEvent, eventTime, type RuleTarget } from './event-bridge-event.ts';
import { DEFAULT_BUS, type EventBus, EventBusStore, receives, type RuleState } from './event-bus-store.ts';
import { EVENT_OPERATIONS } from './event-operations.ts';
import { matchesPattern } from './event-pattern.ts';
import { RULE_OPERATIONS, upsertRule } from './rule-operations.ts';
import { RuleSchedules } from './rule-schedules.ts';
import { TargetDelivery, type FailedDelivery, type TargetInvoker } from './target-delivery.ts';
import { putTargets, TARGET_OPERATIONS } from './target-operations.ts';

export { targetInput, type EventBridgeEvent, type RetryPolicy, type RuleTarget } from './event-bridge-event.ts';
export type { RuleState } from './event-bus-store.ts';
export { TargetInvocationError, type ExhaustedRetryCondition, type FailedDelivery, type TargetInvoker } from './target-delivery.ts';

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

const OPERATIONS = new Map<string, EventBridgeOperation>(
  Object.entries({ ...BUS_OPERATIONS, ...RULE_OPERATIONS, ...TARGET_OPERATIONS, ...EVENT_OPERATIONS }),
);

export class EmbeddedEventBridge implements JsonService {
  readonly targetPrefix = 'AWSEvents';

  private readonly faults: FaultInjector | undefined;
  private readonly log: (line: string) => void;
  private readonly delivery: TargetDelivery;
  private readonly backend: EventBridgeBackend;
  private readonly rejected: RejectedEvent[] = [];

  constructor(options: EmbeddedEventBridgeOptions) {
    this.faults = options.faults;
    this.log = options.log ?? ((line) => console.warn(line));
    this.delivery = new TargetDelivery({
      clock: options.clock,
      deliver: options.deliver,
      faults: options.faults,
      deadLetterFile: options.deadLetterFile,
      queues: options.queues,
      log: this.log,
      random: options.random ?? Math.random,
      deliveryLatencyMs: options.deliveryLatencyMs ?? 0,
    });
    this.backend = {
      store: new EventBusStore(options.clock),
      clock: options.clock,
      schedules: new RuleSchedules(options.clock, this.delivery),
      route: (bus, event) => this.route(bus, event),
    };
  }

  async handle(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject> {
    const fault = this.faults?.({ service: 'events', operation, input, region: context.region });
    if (fault) throw fault;
    const serve = OPERATIONS.get(operation);
    if (!serve) throw new AwsServiceError('UnknownOperationException', `The embedded EventBridge does not implement ${operation}.`);
    return serve(this.backend, input, context);
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
    this.route(this.backend.store.existingBus({ accountId: event.accountId, region: event.region }, DEFAULT_BUS), delivered);
    return delivered.id;
  }

  /**
   * Delivers an event exactly as given, its id included, onto a bus of its account and Region: what
   * a redelivery, or a replay from an EventBridge archive, puts before the rules again. The
   * default bus unless `eventBusName` names another.
   */
  redeliver(event: EventBridgeEvent, eventBusName = DEFAULT_BUS): void {
    this.route(this.backend.store.existingBus({ accountId: event.account, region: event.region }, eventBusName), structuredClone(event));
  }

  /** Creates or replaces a rule declared in configuration, with its targets; returns the rule ARN. */
  addRule(definition: RuleDefinition): string {
    const scope = { region: definition.region, accountId: definition.accountId };
    const eventPattern =
      definition.eventPattern === undefined || typeof definition.eventPattern === 'string' ? definition.eventPattern : JSON.stringify(definition.eventPattern);
    const rule = upsertRule(this.backend, scope, {
      Name: definition.name,
      EventPattern: eventPattern,
      ScheduleExpression: definition.scheduleExpression,
      State: definition.state,
      Description: definition.description,
      EventBusName: definition.eventBusName,
    });
    if (definition.targets && definition.targets.length > 0) {
      putTargets(this.backend, scope, { Rule: rule.name, EventBusName: rule.eventBusName, Targets: definition.targets });
    }
    return rule.arn;
  }

  /** Failed deliveries kept in a dead-letter queue: all of them, or those of one queue. */
  deadLetters(queueArn?: string): FailedDelivery[] {
    return this.delivery.failed.filter(
      (failure) => failure.disposition === 'dead-lettered' && (queueArn === undefined || failure.deadLetterQueueArn === queueArn),
    );
  }

  /** Failed deliveries whose target had no dead-letter queue: AWS would have discarded these. */
  droppedDeliveries(): FailedDelivery[] {
    return this.delivery.failed.filter((failure) => failure.disposition === 'dropped');
  }

  /** Events the in-process `putEvent` refused because of an injected fault. */
  rejectedEvents(): RejectedEvent[] {
    return [...this.rejected];
  }

  /** True while a delivery is in flight (retries waiting on the clock count). */
  get busy(): boolean {
    return this.delivery.busy || this.backend.schedules.firingDue();
  }

  /**
   * Resolves once no delivery is in flight (retries waiting on the clock count as in flight), nor
   * due: a scheduled rule whose instant the clock has reached fires first.
   */
  async idle(): Promise<void> {
    do {
      await this.delivery.settled();
      if (this.backend.schedules.firingDue()) await new Promise<void>((resolve) => setImmediate(resolve));
    } while (this.busy);
  }

  /** Stops retrying: deliveries still waiting are recorded as failed, then the service goes quiet. */
  async close(): Promise<void> {
    this.delivery.shutdown.abort();
    await this.idle();
  }

  private route(bus: EventBus, event: EventBridgeEvent): void {
    for (const rule of bus.rules.values()) {
      if (!rule.pattern || !receives(rule, event) || !matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets.values()) this.delivery.start(rule.arn, target, event);
    }
  }
}
