/**
 * The embedded SNS: topics and subscriptions over the query protocol, with asynchronous delivery to
 * http(s) endpoints (the real notification JSON, after the SubscriptionConfirmation handshake), to
 * JSON-lines files and to the console. This class wires the parts together:
 * sns-operations.ts (the wire), topic-registry.ts (the model), publishing.ts, notification-delivery.ts.
 */
import type { Clock } from '../clock.ts';
import type { AwsServiceError, FaultInjector, QueryService, RequestContext } from '../protocol.ts';
import { NotificationDelivery } from './notification-delivery.ts';
import { TopicPublisher } from './publishing.ts';
import { queryErrorBody } from './query-protocol.ts';
import { notFound } from './request-validation.ts';
import { DEFAULT_HTTP_TIMEOUT_MS } from './sns-limits.ts';
import type { DeliveryRecord, PublishedMessage, SubscriptionProtocol } from './sns-model.ts';
import { runOperation, type SnsParts } from './sns-operations.ts';
import { TopicRegistry } from './topic-registry.ts';

export type { DeliveryRecord, MessageAttributeValue, PublishedMessage, SubscriptionProtocol } from './sns-model.ts';

export interface EmbeddedSnsOptions {
  clock: Clock;
  faults?: FaultInjector;
  /** Where `console` subscriptions print; defaults to console.log. */
  console?: (line: string) => void;
  /** Account of topics made by `createTopicLocal` when none is given; use the server's. */
  accountId?: string;
  /** Where failed deliveries are reported; defaults to console.warn. */
  log?: (line: string) => void;
  /** Real milliseconds an http(s) endpoint has to answer; SNS waits about 15 seconds. */
  httpTimeoutMs?: number;
  /** The embedded AWS's endpoint, once it listens: a SubscribeURL is a GET of ConfirmSubscription there. */
  endpoint?: () => string | undefined;
}

export class EmbeddedSns implements QueryService {
  readonly signingName = 'sns';

  private readonly faults: FaultInjector | undefined;
  private readonly defaultAccountId: string;
  private readonly parts: SnsParts;

  constructor(options: EmbeddedSnsOptions) {
    this.faults = options.faults;
    this.defaultAccountId = options.accountId ?? '000000000000';
    const registry = new TopicRegistry();
    const delivery = new NotificationDelivery({
      clock: options.clock,
      faults: options.faults,
      print: options.console ?? ((line) => console.log(line)),
      log: options.log ?? ((line) => console.warn(line)),
      httpTimeoutMs: options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS,
      endpoint: options.endpoint,
    });
    this.parts = { registry, delivery, publisher: new TopicPublisher(registry, delivery, options.clock) };
  }

  async handle(action: string, params: Record<string, string>, context: RequestContext): Promise<string> {
    const fault = this.faults?.({ service: 'sns', operation: action, input: params, region: context.region });
    if (fault) throw fault;
    return runOperation(action, params, context, this.parts);
  }

  errorBody(error: AwsServiceError, requestId: string): string {
    return queryErrorBody(error, requestId);
  }

  /** Creates (or finds, since CreateTopic is idempotent by name) a topic declared in configuration. */
  createTopicLocal(
    region: string,
    name: string,
    options: { accountId?: string; attributes?: Record<string, string>; tags?: Record<string, string> } = {},
  ): string {
    return this.parts.registry.createTopic(region, options.accountId ?? this.defaultAccountId, name, {
      attributes: options.attributes ?? {},
      tags: options.tags ?? {},
    }).arn;
  }

  /**
   * Subscribes an endpoint declared in configuration; returns the subscription ARN. An http(s)
   * endpoint gets the SubscriptionConfirmation and is sent nothing else until it confirms, as in AWS.
   */
  subscribeLocal(topicArn: string, protocol: SubscriptionProtocol, endpoint: string, attributes: Record<string, string> = {}): string {
    const topic = this.parts.registry.topic(topicArn);
    if (!topic) throw notFound('Topic');
    const { subscription, created } = this.parts.registry.subscribe(topic, protocol, endpoint, attributes);
    if (created && subscription.pendingToken !== undefined) this.parts.delivery.requestConfirmation(topic, subscription, subscription.pendingToken);
    return subscription.arn;
  }

  /** Every message published, in order: all of them or those of one topic. */
  published(topicArn?: string): PublishedMessage[] {
    return this.parts.publisher.published(topicArn);
  }

  /** What became of each message for each subscription, once its delivery finished. */
  deliveries(): DeliveryRecord[] {
    return this.parts.delivery.deliveries();
  }

  /** Deliveries that did not reach their endpoint: failed after retries, or refused with a 4xx. */
  failedDeliveries(): DeliveryRecord[] {
    return this.deliveries().filter((record) => record.outcome !== 'delivered');
  }

  /** True while a notification is being delivered or retried. */
  get busy(): boolean {
    return this.parts.delivery.busy;
  }

  /** Resolves once no delivery is in flight (retries waiting on the clock count as in flight). */
  async idle(): Promise<void> {
    await this.parts.delivery.idle();
  }

  /** Stops retrying; deliveries still waiting are recorded as failed. */
  async close(): Promise<void> {
    await this.parts.delivery.close();
  }
}
