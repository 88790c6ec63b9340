/**
 * The embedded SNS: topics and subscriptions over the query protocol, with asynchronous delivery to
 * http(s) endpoints (the real notification JSON), to JSON-lines files and to the console.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import { type CompiledPattern, compilePattern, matchesPattern } from '../eventbridge/event-pattern.ts';
import { AwsServiceError, type FaultInjector, type JsonObject, type QueryService, type RequestContext } from '../protocol.ts';
import {
  attributeEntries,
  element,
  groupParameters,
  parseAttributeMap,
  parseTags,
  queryErrorBody,
  queryResponse,
} from './query-protocol.ts';

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64, as the query protocol carries it. */
  BinaryValue?: string;
}

/** A message as it was published, kept for tests and for the main job to show notifications. */
export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  region: string;
  subject?: string;
  message: string;
  messageStructure?: 'json';
  messageAttributes: Record<string, MessageAttributeValue>;
  timestamp: string;
  messageGroupId?: string;
  sequenceNumber?: string;
}

export type SubscriptionProtocol = 'http' | 'https' | 'file' | 'console';

/** What became of one message for one subscription. */
export interface DeliveryRecord {
  subscriptionArn: string;
  protocol: SubscriptionProtocol;
  endpoint: string;
  messageId: string;
  /**
   * `rejected-by-endpoint`: the endpoint answered 4xx. SNS counts 2xx to 4xx as delivered and does
   * not retry (Developer Guide, "Prepare your HTTP/S endpoint"), so the message is gone in AWS too.
   */
  outcome: 'delivered' | 'rejected-by-endpoint' | 'failed';
  attempts: number;
  statusCode?: number;
  error?: string;
  at: string;
}

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
}

interface Topic {
  arn: string;
  name: string;
  region: string;
  accountId: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  fifo: boolean;
  nextSequenceNumber: bigint;
}

interface Subscription {
  arn: string;
  topicArn: string;
  protocol: SubscriptionProtocol;
  endpoint: string;
  owner: string;
  attributes: Record<string, string>;
  filter?: CompiledPattern;
}

interface RetryPolicy {
  numRetries: number;
  minDelayTarget: number;
  maxDelayTarget: number;
}

const SETTABLE_TOPIC_ATTRIBUTES = new Set([
  'DisplayName',
  'Policy',
  'DeliveryPolicy',
  'FifoTopic',
  'ContentBasedDeduplication',
  'KmsMasterKeyId',
  'SignatureVersion',
  'TracingConfig',
  'ArchivePolicy',
  'DataProtectionPolicy',
]);
const SETTABLE_SUBSCRIPTION_ATTRIBUTES = new Set([
  'DeliveryPolicy',
  'FilterPolicy',
  'FilterPolicyScope',
  'RawMessageDelivery',
  'RedrivePolicy',
  'SubscriptionRoleArn',
]);
const AWS_PROTOCOLS_NOT_EMBEDDED = new Set(['email', 'email-json', 'sqs', 'lambda', 'sms', 'application', 'firehose']);
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_BATCH_ENTRIES = 10;
const PAGE_SIZE = 100;
// The default HTTP/S delivery policy: three retries, 20 seconds apart (Developer Guide, "Set the
// delivery policy for the Amazon SNS subscription"). The embedded SNS applies it to every protocol.
const DEFAULT_RETRY_POLICY: RetryPolicy = { numRetries: 3, minDelayTarget: 20, maxDelayTarget: 20 };
const DEFAULT_HTTP_TIMEOUT_MS = 15_000;
// Notifications cannot carry a real signature: that needs AWS's private signing key. Receivers that
// verify signatures must skip verification against the embedded SNS.
const UNSIGNED = 'EMBEDDED-SNS-UNSIGNED';
const UNSIGNED_CERT_URL = 'urn:embedded-aws:sns:unsigned';
const UNSUBSCRIBE_URL = 'urn:embedded-aws:sns:unsubscribe';

export class EmbeddedSns implements QueryService {
  readonly signingName = 'sns';

  private readonly clock: Clock;
  private readonly faults: FaultInjector | undefined;
  private readonly print: (line: string) => void;
  private readonly log: (line: string) => void;
  private readonly defaultAccountId: string;
  private readonly httpTimeoutMs: number;
  private readonly topics = new Map<string, Topic>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly messages: PublishedMessage[] = [];
  private readonly deliveryRecords: DeliveryRecord[] = [];
  private readonly pendingDeliveries: BackgroundWork;
  private readonly fileWrites = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();

  constructor(options: EmbeddedSnsOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
    this.print = options.console ?? ((line) => console.log(line));
    this.log = options.log ?? ((line) => console.warn(line));
    this.defaultAccountId = options.accountId ?? '000000000000';
    this.httpTimeoutMs = options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.pendingDeliveries = new BackgroundWork((error) => this.log(`[sns] delivery bookkeeping failed: ${String(error)}`), options.clock.activity);
  }

  async handle(action: string, params: Record<string, string>, context: RequestContext): Promise<string> {
    const fault = this.faults?.({ service: 'sns', operation: action, input: params, region: context.region });
    if (fault) throw fault;
    const respond = (result?: string) => queryResponse(action, context.requestId, result);
    switch (action) {
      case 'CreateTopic': {
        const topic = this.createTopic(context.region, context.accountId, required(params, 'Name'), {
          attributes: parseAttributeMap(params, 'Attributes'),
          tags: parseTags(params),
        });
        return respond(element('TopicArn', topic.arn));
      }
      case 'DeleteTopic':
        this.deleteTopic(required(params, 'TopicArn'), context);
        return respond();
      case 'ListTopics': {
        const topics = [...this.topics.values()].filter((topic) => inScope(topic, context));
        const page = paginate(topics, params.NextToken);
        const members = page.items.map((topic) => `<member>${element('TopicArn', topic.arn)}</member>`).join('');
        return respond(`<Topics>${members}</Topics>${element('NextToken', page.nextToken)}`);
      }
      case 'GetTopicAttributes': {
        const topic = this.existingTopic(required(params, 'TopicArn'), context);
        return respond(`<Attributes>${attributeEntries(this.topicAttributes(topic))}</Attributes>`);
      }
      case 'SetTopicAttributes': {
        const topic = this.existingTopic(required(params, 'TopicArn'), context);
        const name = required(params, 'AttributeName');
        if (!SETTABLE_TOPIC_ATTRIBUTES.has(name) || name === 'FifoTopic') throw invalidParameter('AttributeName');
        topic.attributes[name] = params.AttributeValue ?? '';
        return respond();
      }
      case 'Subscribe': {
        const topic = this.existingTopic(required(params, 'TopicArn'), context);
        const subscription = this.subscribe(topic, required(params, 'Protocol'), params.Endpoint, parseAttributeMap(params, 'Attributes'));
        return respond(element('SubscriptionArn', subscription.arn));
      }
      case 'Unsubscribe': {
        const arn = required(params, 'SubscriptionArn');
        if (!this.subscriptions.delete(arn)) throw new AwsServiceError('NotFound', 'Subscription does not exist', 404);
        return respond();
      }
      case 'ListSubscriptionsByTopic': {
        const topic = this.existingTopic(required(params, 'TopicArn'), context);
        const subscriptions = [...this.subscriptions.values()].filter((subscription) => subscription.topicArn === topic.arn);
        return respond(renderSubscriptions(paginate(subscriptions, params.NextToken)));
      }
      case 'ListSubscriptions': {
        const subscriptions = [...this.subscriptions.values()].filter((subscription) => {
          const topic = this.topics.get(subscription.topicArn);
          return topic !== undefined && inScope(topic, context);
        });
        return respond(renderSubscriptions(paginate(subscriptions, params.NextToken)));
      }
      case 'GetSubscriptionAttributes': {
        const subscription = this.existingSubscription(required(params, 'SubscriptionArn'));
        return respond(`<Attributes>${attributeEntries(this.subscriptionAttributes(subscription))}</Attributes>`);
      }
      case 'SetSubscriptionAttributes': {
        const subscription = this.existingSubscription(required(params, 'SubscriptionArn'));
        const name = required(params, 'AttributeName');
        this.applySubscriptionAttributes(subscription, { [name]: params.AttributeValue ?? '' });
        return respond();
      }
      case 'Publish': {
        const topic = this.publishTarget(params, context);
        const published = this.publish(topic, params);
        return respond(`${element('MessageId', published.messageId)}${element('SequenceNumber', published.sequenceNumber)}`);
      }
      case 'PublishBatch':
        return respond(this.publishBatch(this.existingTopic(required(params, 'TopicArn'), context), params));
      case 'TagResource': {
        const topic = this.taggedResource(required(params, 'ResourceArn'));
        Object.assign(topic.tags, parseTags(params));
        return respond();
      }
      case 'UntagResource': {
        const topic = this.taggedResource(required(params, 'ResourceArn'));
        for (const key of groupParameters(params, 'TagKeys', 'member')) delete topic.tags[key[''] ?? ''];
        return respond();
      }
      case 'ListTagsForResource': {
        const topic = this.taggedResource(required(params, 'ResourceArn'));
        const members = Object.entries(topic.tags)
          .map(([key, value]) => `<member>${element('Key', key)}${element('Value', value)}</member>`)
          .join('');
        return respond(`<Tags>${members}</Tags>`);
      }
      default:
        throw new AwsServiceError('InvalidAction', `The embedded SNS does not implement ${action}.`);
    }
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
    return this.createTopic(region, options.accountId ?? this.defaultAccountId, name, {
      attributes: options.attributes ?? {},
      tags: options.tags ?? {},
    }).arn;
  }

  /** Subscribes an endpoint declared in configuration; returns the subscription ARN. */
  subscribeLocal(topicArn: string, protocol: SubscriptionProtocol, endpoint: string, attributes: Record<string, string> = {}): string {
    const topic = this.topics.get(topicArn);
    if (!topic) throw new AwsServiceError('NotFound', 'Topic does not exist', 404);
    return this.subscribe(topic, protocol, endpoint, attributes).arn;
  }

  /** Every message published, in order: all of them or those of one topic. */
  published(topicArn?: string): PublishedMessage[] {
    return this.messages.filter((message) => topicArn === undefined || message.topicArn === topicArn).map((message) => ({ ...message }));
  }

  /** What became of each message for each subscription, once its delivery finished. */
  deliveries(): DeliveryRecord[] {
    return [...this.deliveryRecords];
  }

  /** Deliveries that did not reach their endpoint: failed after retries, or refused with a 4xx. */
  failedDeliveries(): DeliveryRecord[] {
    return this.deliveryRecords.filter((record) => record.outcome !== 'delivered');
  }

  /** True while a notification is being delivered or retried. */
  get busy(): boolean {
    return this.pendingDeliveries.busy;
  }

  /** Resolves once no delivery is in flight (retries waiting on the clock count as in flight). */
  async idle(): Promise<void> {
    await this.pendingDeliveries.settled();
  }

  /** Stops retrying; deliveries still waiting are recorded as failed. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.idle();
  }

  private createTopic(
    region: string,
    accountId: string,
    name: string,
    requested: { attributes: Record<string, string>; tags: Record<string, string> },
  ): Topic {
    const fifo = requested.attributes.FifoTopic === 'true';
    const nameOk = fifo ? /^[A-Za-z0-9_-]{1,251}\.fifo$/.test(name) : /^[A-Za-z0-9_-]{1,256}$/.test(name);
    if (!nameOk) throw invalidParameter('Topic Name');
    for (const attribute of Object.keys(requested.attributes)) {
      if (!SETTABLE_TOPIC_ATTRIBUTES.has(attribute)) throw invalidParameter(`Attributes Reason: Unknown attribute ${attribute}`);
    }
    const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
    const existing = this.topics.get(arn);
    if (existing) {
      // CreateTopic is idempotent, but only if it asks for what the topic already is.
      if (Object.entries(requested.attributes).some(([key, value]) => (existing.attributes[key] ?? '') !== value)) {
        throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
      }
      if (Object.entries(requested.tags).some(([key, value]) => existing.tags[key] !== value)) {
        throw invalidParameter('Tags Reason: Topic already exists with different tags');
      }
      return existing;
    }
    const topic: Topic = {
      arn,
      name,
      region,
      accountId,
      attributes: { ...requested.attributes },
      tags: { ...requested.tags },
      fifo,
      nextSequenceNumber: 10_000_000_000_000_000_000n,
    };
    this.topics.set(arn, topic);
    return topic;
  }

  private deleteTopic(arn: string, context: RequestContext): void {
    parseTopicArn(arn, context);
    // DeleteTopic succeeds for a topic that does not exist; its subscriptions go with it.
    this.topics.delete(arn);
    for (const [subscriptionArn, subscription] of this.subscriptions) {
      if (subscription.topicArn === arn) this.subscriptions.delete(subscriptionArn);
    }
  }

  private existingTopic(arn: string, context: RequestContext): Topic {
    parseTopicArn(arn, context);
    const topic = this.topics.get(arn);
    if (!topic) throw new AwsServiceError('NotFound', 'Topic does not exist', 404);
    return topic;
  }

  private taggedResource(arn: string): Topic {
    const topic = this.topics.get(arn);
    if (!topic) throw new AwsServiceError('ResourceNotFound', 'Resource does not exist', 404);
    return topic;
  }

  private existingSubscription(arn: string): Subscription {
    const subscription = this.subscriptions.get(arn);
    if (!subscription) throw new AwsServiceError('NotFound', 'Subscription does not exist', 404);
    return subscription;
  }

  private topicAttributes(topic: Topic): Record<string, string> {
    const subscriptions = [...this.subscriptions.values()].filter((subscription) => subscription.topicArn === topic.arn);
    return {
      Policy: JSON.stringify(defaultTopicPolicy(topic)),
      Owner: topic.accountId,
      SubscriptionsPending: '0',
      TopicArn: topic.arn,
      EffectiveDeliveryPolicy: JSON.stringify(effectiveDeliveryPolicy(topic)),
      SubscriptionsConfirmed: String(subscriptions.length),
      DisplayName: '',
      SubscriptionsDeleted: '0',
      ...(topic.fifo ? { FifoTopic: 'true', ContentBasedDeduplication: 'false' } : {}),
      ...topic.attributes,
    };
  }

  private subscriptionAttributes(subscription: Subscription): Record<string, string> {
    return {
      ConfirmationWasAuthenticated: 'true',
      PendingConfirmation: 'false',
      RawMessageDelivery: 'false',
      Owner: subscription.owner,
      SubscriptionArn: subscription.arn,
      TopicArn: subscription.topicArn,
      Protocol: subscription.protocol,
      Endpoint: subscription.endpoint,
      ...subscription.attributes,
    };
  }

  /**
   * Subscriptions are confirmed at once: the embedded SNS does not send the SubscriptionConfirmation
   * handshake an http(s) endpoint gets from AWS. Subscribing the same endpoint twice returns the
   * existing subscription, as SNS does.
   */
  private subscribe(topic: Topic, protocolName: string, endpointParameter: string | undefined, attributes: Record<string, string>): Subscription {
    const protocol = parseProtocol(protocolName);
    const endpoint = validateEndpoint(protocol, endpointParameter);
    const existing = [...this.subscriptions.values()].find(
      (subscription) => subscription.topicArn === topic.arn && subscription.protocol === protocol && subscription.endpoint === endpoint,
    );
    if (existing) return existing;
    const subscription: Subscription = {
      arn: `${topic.arn}:${randomUUID()}`,
      topicArn: topic.arn,
      protocol,
      endpoint,
      owner: topic.accountId,
      attributes: {},
    };
    this.applySubscriptionAttributes(subscription, attributes);
    this.subscriptions.set(subscription.arn, subscription);
    return subscription;
  }

  private applySubscriptionAttributes(subscription: Subscription, attributes: Record<string, string>): void {
    const merged = { ...subscription.attributes };
    for (const [name, value] of Object.entries(attributes)) {
      if (!SETTABLE_SUBSCRIPTION_ATTRIBUTES.has(name)) throw invalidParameter('AttributeName');
      merged[name] = value;
    }
    if (merged.RawMessageDelivery !== undefined && !['true', 'false'].includes(merged.RawMessageDelivery)) {
      throw invalidParameter('Attributes Reason: RawMessageDelivery: Invalid value [' + merged.RawMessageDelivery + ']. Must be true or false.');
    }
    if (merged.FilterPolicyScope !== undefined && !['MessageAttributes', 'MessageBody'].includes(merged.FilterPolicyScope)) {
      throw invalidParameter('Attributes Reason: FilterPolicyScope: Invalid value [' + merged.FilterPolicyScope + ']');
    }
    let filter: CompiledPattern | undefined;
    if (merged.FilterPolicy !== undefined && merged.FilterPolicy !== '') {
      // SNS filter policies use the same operators as EventBridge patterns (exact, prefix, suffix,
      // anything-but, numeric, exists, cidr, equals-ignore-case, $or), so one matcher serves both.
      try {
        filter = compilePattern(JSON.parse(merged.FilterPolicy));
      } catch (error) {
        throw invalidParameter(`Filter policy: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (merged.DeliveryPolicy !== undefined) retryPolicyFrom(merged.DeliveryPolicy, 'healthyRetryPolicy');
    subscription.attributes = merged;
    subscription.filter = filter;
  }

  private publishTarget(params: Record<string, string>, context: RequestContext): Topic {
    if (params.PhoneNumber !== undefined) throw invalidParameter('PhoneNumber Reason: the embedded SNS does not send SMS');
    const arn = params.TopicArn ?? params.TargetArn;
    if (arn === undefined) throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
    return this.existingTopic(arn, context);
  }

  private publish(topic: Topic, params: Record<string, string>): PublishedMessage {
    const message = params.Message;
    if (message === undefined || message === '') throw invalidParameter('Empty message');
    if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw invalidParameter('Message too long');
    const subject = params.Subject;
    // Subjects are ASCII text up to 100 characters, without line breaks or control characters.
    if (subject !== undefined && (subject === '' || subject.length > 100 || !/^[\x20-\x7e]*$/.test(subject))) {
      throw invalidParameter('Subject');
    }
    let messageStructure: 'json' | undefined;
    if (params.MessageStructure !== undefined) {
      if (params.MessageStructure !== 'json') throw invalidParameter('MessageStructure');
      messageStructure = 'json';
      let structured: unknown;
      try {
        structured = JSON.parse(message);
      } catch {
        throw invalidParameter('Message Structure - JSON message body failed to parse');
      }
      if (!isObject(structured) || typeof structured.default !== 'string') {
        throw invalidParameter('Message Structure - No default entry in JSON message body');
      }
    }
    const messageAttributes = parseMessageAttributes(params);
    let sequenceNumber: string | undefined;
    if (topic.fifo) {
      if (!params.MessageGroupId) throw invalidParameter('The MessageGroupId parameter is required for FIFO topics');
      if (!params.MessageDeduplicationId && topic.attributes.ContentBasedDeduplication !== 'true') {
        throw invalidParameter('The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
      sequenceNumber = String(topic.nextSequenceNumber++);
    }
    const published: PublishedMessage = {
      messageId: randomUUID(),
      topicArn: topic.arn,
      region: topic.region,
      ...(subject !== undefined ? { subject } : {}),
      message,
      ...(messageStructure ? { messageStructure } : {}),
      messageAttributes,
      timestamp: this.clock.now().toISOString(),
      ...(params.MessageGroupId ? { messageGroupId: params.MessageGroupId } : {}),
      ...(sequenceNumber ? { sequenceNumber } : {}),
    };
    this.messages.push(published);
    for (const subscription of this.subscriptions.values()) {
      if (subscription.topicArn === topic.arn && passesFilter(subscription, published)) {
        this.pendingDeliveries.track(`sns delivery to ${subscription.endpoint}`, () => this.deliver(topic, subscription, published));
      }
    }
    return published;
  }

  private publishBatch(topic: Topic, params: Record<string, string>): string {
    const entries = groupParameters(params, 'PublishBatchRequestEntries', 'member');
    if (entries.length === 0) throw new AwsServiceError('EmptyBatchRequest', "The batch request doesn't contain any entries.");
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw new AwsServiceError('TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible.');
    }
    const ids = entries.map((entry) => entry.Id ?? '');
    if (ids.some((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id))) {
      throw new AwsServiceError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
    }
    if (new Set(ids).size !== ids.length) {
      throw new AwsServiceError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
    }
    if (entries.reduce((total, entry) => total + Buffer.byteLength(entry.Message ?? ''), 0) > MAX_MESSAGE_BYTES) {
      throw new AwsServiceError('BatchRequestTooLong', 'The length of all the messages put together is more than the limit.');
    }
    let successful = '';
    let failed = '';
    for (const entry of entries) {
      try {
        const published = this.publish(topic, entry);
        successful += `<member>${element('Id', entry.Id)}${element('MessageId', published.messageId)}${element('SequenceNumber', published.sequenceNumber)}</member>`;
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        failed += `<member>${element('Id', entry.Id)}${element('Code', error.code)}${element('Message', error.message)}<SenderFault>${error.statusCode < 500}</SenderFault></member>`;
      }
    }
    return `<Successful>${successful}</Successful><Failed>${failed}</Failed>`;
  }

  private async deliver(topic: Topic, subscription: Subscription, published: PublishedMessage): Promise<void> {
    // Publish answers before any subscriber sees the message.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const policy = this.retryPolicy(topic, subscription);
    let attempts = 0;
    for (;;) {
      attempts++;
      let result: { outcome: DeliveryRecord['outcome']; statusCode?: number; error?: string };
      try {
        const fault = this.faults?.({
          service: 'sns',
          operation: 'DeliverNotification',
          input: { SubscriptionArn: subscription.arn, Protocol: subscription.protocol, Endpoint: subscription.endpoint, MessageId: published.messageId },
          region: topic.region,
        });
        if (fault) throw fault;
        result = await this.attempt(topic, subscription, published);
      } catch (error) {
        result = { outcome: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      }
      const retriesLeft = attempts <= policy.numRetries;
      if (result.outcome !== 'failed' || !retriesLeft || this.shutdown.signal.aborted) {
        this.record(subscription, published, attempts, result);
        return;
      }
      await this.clock.sleep(retryDelaySeconds(policy, attempts) * 1000, this.shutdown.signal);
      if (this.shutdown.signal.aborted) {
        this.record(subscription, published, attempts, { ...result, error: `${result.error ?? ''} (the embedded SNS closed before retrying)` });
        return;
      }
    }
  }

  private async attempt(
    topic: Topic,
    subscription: Subscription,
    published: PublishedMessage,
  ): Promise<{ outcome: DeliveryRecord['outcome']; statusCode?: number; error?: string }> {
    const message = messageFor(subscription.protocol, published);
    switch (subscription.protocol) {
      case 'console':
        this.print(consoleLine(topic, published, message));
        return { outcome: 'delivered' };
      case 'file': {
        const line = `${JSON.stringify(notification(subscription, published, message))}\n`;
        await this.appendInOrder(subscription.endpoint, line);
        return { outcome: 'delivered' };
      }
      case 'http':
      case 'https': {
        const raw = subscription.attributes.RawMessageDelivery === 'true';
        const body = raw ? message : JSON.stringify(notification(subscription, published, message));
        const contentType = requestContentType(topic, subscription);
        const statusCode = await post(new URL(subscription.endpoint), body, {
          'content-type': contentType,
          'user-agent': 'Amazon Simple Notification Service Agent',
          'x-amz-sns-message-type': 'Notification',
          'x-amz-sns-message-id': published.messageId,
          'x-amz-sns-topic-arn': published.topicArn,
          'x-amz-sns-subscription-arn': subscription.arn,
          ...(raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
        }, this.httpTimeoutMs);
        if (statusCode >= 200 && statusCode < 300) return { outcome: 'delivered', statusCode };
        if (statusCode >= 400 && statusCode < 500) return { outcome: 'rejected-by-endpoint', statusCode, error: `HTTP ${statusCode}` };
        return { outcome: 'failed', statusCode, error: `HTTP ${statusCode}` };
      }
    }
  }

  /** Appends to one file strictly in publish order, so each notification stays one whole line. */
  private async appendInOrder(file: string, line: string): Promise<void> {
    const previous = this.fileWrites.get(file) ?? Promise.resolve();
    const write = previous.catch(() => undefined).then(async () => {
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, line);
    });
    this.fileWrites.set(file, write);
    await write;
  }

  private record(
    subscription: Subscription,
    published: PublishedMessage,
    attempts: number,
    result: { outcome: DeliveryRecord['outcome']; statusCode?: number; error?: string },
  ): void {
    const record: DeliveryRecord = {
      subscriptionArn: subscription.arn,
      protocol: subscription.protocol,
      endpoint: subscription.endpoint,
      messageId: published.messageId,
      outcome: result.outcome,
      attempts,
      ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
      at: this.clock.now().toISOString(),
    };
    this.deliveryRecords.push(record);
    if (record.outcome === 'failed') {
      this.log(`[sns] message ${published.messageId} not delivered to ${subscription.protocol} ${subscription.endpoint} after ${attempts} attempt(s): ${record.error ?? 'unknown error'} (kept in failedDeliveries())`);
    } else if (record.outcome === 'rejected-by-endpoint') {
      this.log(`[sns] ${subscription.endpoint} answered ${record.error ?? '4xx'} to message ${published.messageId}; SNS counts 4xx as delivered and does not retry (kept in failedDeliveries())`);
    }
  }

  private retryPolicy(topic: Topic, subscription: Subscription): RetryPolicy {
    if (subscription.attributes.DeliveryPolicy) {
      const policy = retryPolicyFrom(subscription.attributes.DeliveryPolicy, 'healthyRetryPolicy');
      if (policy) return policy;
    }
    if (topic.attributes.DeliveryPolicy) {
      const policy = retryPolicyFrom(topic.attributes.DeliveryPolicy, 'http.defaultHealthyRetryPolicy');
      if (policy) return policy;
    }
    return DEFAULT_RETRY_POLICY;
  }
}

function parseTopicArn(arn: string, context: RequestContext): void {
  const match = /^arn:aws[\w-]*:sns:([^:]+):(\d{12}):([A-Za-z0-9_.-]+)$/.exec(arn);
  if (!match || match[1] !== context.region) throw invalidParameter('TopicArn');
}

function inScope(topic: Topic, context: RequestContext): boolean {
  return topic.region === context.region && topic.accountId === context.accountId;
}

function parseProtocol(name: string): SubscriptionProtocol {
  if (name === 'http' || name === 'https' || name === 'file' || name === 'console') return name;
  if (AWS_PROTOCOLS_NOT_EMBEDDED.has(name)) {
    throw invalidParameter(`Protocol Reason: the embedded SNS does not deliver to ${name}; use http, https, file or console`);
  }
  throw invalidParameter(`Amazon SNS does not support this protocol string: ${name}`);
}

function validateEndpoint(protocol: SubscriptionProtocol, endpoint: string | undefined): string {
  switch (protocol) {
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(endpoint ?? '');
      } catch {
        throw invalidParameter('Endpoint');
      }
      if (url.protocol !== `${protocol}:`) throw invalidParameter('Endpoint');
      return url.toString();
    }
    case 'file':
      if (!endpoint) throw invalidParameter('Endpoint Reason: a file subscription needs a path');
      return endpoint;
    case 'console':
      return endpoint || 'console';
  }
}

function parseMessageAttributes(params: Record<string, string>): Record<string, MessageAttributeValue> {
  const entries = groupParameters(params, 'MessageAttributes', 'entry');
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw new AwsServiceError('InvalidParameterValue', `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`);
  }
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const entry of entries) {
    const name = entry.Name ?? '';
    const dataType = entry['Value.DataType'];
    const invalidValue = (message: string) => new AwsServiceError('InvalidParameterValue', message);
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || /^(AWS\.|Amazon\.)/i.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      throw invalidValue(`The message attribute name '${name}' is invalid.`);
    }
    if (!dataType) throw invalidValue(`The message attribute '${name}' must contain non-empty message attribute type.`);
    const base = dataType === 'String.Array' ? 'String.Array' : dataType.split('.')[0];
    if (base === 'Binary') {
      if (!entry['Value.BinaryValue']) {
        throw invalidValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
      }
      attributes[name] = { DataType: dataType, BinaryValue: entry['Value.BinaryValue'] };
      continue;
    }
    if (base !== 'String' && base !== 'Number' && base !== 'String.Array') {
      throw invalidValue(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    const value = entry['Value.StringValue'];
    if (value === undefined || value === '') {
      throw invalidValue(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
    }
    if (base === 'Number' && !Number.isFinite(Number(value))) {
      throw invalidValue(`The message attribute '${name}' with type 'Number' must have a numeric value.`);
    }
    if (base === 'String.Array') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed)) throw invalidValue(`The message attribute '${name}' with type 'String.Array' must be a JSON array.`);
    }
    attributes[name] = { DataType: dataType, StringValue: value };
  }
  return attributes;
}

function passesFilter(subscription: Subscription, published: PublishedMessage): boolean {
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

/** With MessageStructure json, each protocol gets its own entry, or `default`. */
function messageFor(protocol: SubscriptionProtocol, published: PublishedMessage): string {
  if (published.messageStructure !== 'json') return published.message;
  const structured = JSON.parse(published.message) as Record<string, unknown>;
  const specific = structured[protocol];
  return typeof specific === 'string' ? specific : String(structured.default);
}

/** The JSON body SNS POSTs to an http(s) subscriber (Developer Guide, "HTTP/HTTPS notification JSON format"). */
function notification(subscription: Subscription, published: PublishedMessage, message: string): JsonObject {
  const unsubscribeUrl = `${UNSUBSCRIBE_URL}?SubscriptionArn=${encodeURIComponent(subscription.arn)}`;
  const attributes = Object.entries(published.messageAttributes);
  return {
    Type: 'Notification',
    MessageId: published.messageId,
    ...(published.sequenceNumber ? { SequenceNumber: published.sequenceNumber } : {}),
    TopicArn: published.topicArn,
    ...(published.subject !== undefined ? { Subject: published.subject } : {}),
    Message: message,
    Timestamp: published.timestamp,
    SignatureVersion: '1',
    Signature: UNSIGNED,
    SigningCertURL: UNSIGNED_CERT_URL,
    UnsubscribeURL: unsubscribeUrl,
    ...(attributes.length > 0
      ? {
          MessageAttributes: Object.fromEntries(
            attributes.map(([name, value]) => [name, { Type: value.DataType, Value: value.StringValue ?? value.BinaryValue ?? '' }]),
          ),
        }
      : {}),
  };
}

function consoleLine(topic: Topic, published: PublishedMessage, message: string): string {
  const subject = published.subject !== undefined ? ` "${published.subject}"` : '';
  const attributes = Object.entries(published.messageAttributes)
    .map(([name, value]) => ` ${name}=${value.StringValue ?? '(binary)'}`)
    .join('');
  return `[SNS ${published.timestamp}] ${topic.name}${subject}${attributes}: ${message.replace(/\r?\n/g, '\\n')}`;
}

function renderSubscriptions(page: { items: Subscription[]; nextToken?: string }): string {
  const members = page.items
    .map(
      (subscription) =>
        `<member>${element('TopicArn', subscription.topicArn)}${element('Protocol', subscription.protocol)}` +
        `${element('SubscriptionArn', subscription.arn)}${element('Owner', subscription.owner)}` +
        `${element('Endpoint', subscription.endpoint)}</member>`,
    )
    .join('');
  return `<Subscriptions>${members}</Subscriptions>${element('NextToken', page.nextToken)}`;
}

function retryPolicyFrom(deliveryPolicy: string, path: string): RetryPolicy | undefined {
  let policy: unknown;
  try {
    policy = JSON.parse(deliveryPolicy);
  } catch {
    throw invalidParameter('DeliveryPolicy: not JSON');
  }
  for (const step of path.split('.')) policy = isObject(policy) ? policy[step] : undefined;
  if (!isObject(policy)) return undefined;
  const number = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback);
  const minDelayTarget = number(policy.minDelayTarget, DEFAULT_RETRY_POLICY.minDelayTarget);
  return {
    numRetries: number(policy.numRetries, DEFAULT_RETRY_POLICY.numRetries),
    minDelayTarget,
    maxDelayTarget: Math.max(minDelayTarget, number(policy.maxDelayTarget, DEFAULT_RETRY_POLICY.maxDelayTarget)),
  };
}

/** Linear back-off from minDelayTarget to maxDelayTarget across the retries. */
function retryDelaySeconds(policy: RetryPolicy, retry: number): number {
  if (policy.numRetries <= 1) return policy.minDelayTarget;
  return policy.minDelayTarget + ((policy.maxDelayTarget - policy.minDelayTarget) * (retry - 1)) / (policy.numRetries - 1);
}

function requestContentType(topic: Topic, subscription: Subscription): string {
  for (const [policyText, path] of [
    [subscription.attributes.DeliveryPolicy, 'requestPolicy'],
    [topic.attributes.DeliveryPolicy, 'http.defaultRequestPolicy'],
  ] as const) {
    if (!policyText) continue;
    let policy: unknown = JSON.parse(policyText);
    for (const step of path.split('.')) policy = isObject(policy) ? policy[step] : undefined;
    if (isObject(policy) && typeof policy.headerContentType === 'string') return policy.headerContentType;
  }
  return 'text/plain; charset=UTF-8';
}

function defaultTopicPolicy(topic: Topic): JsonObject {
  return {
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topic.arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': topic.accountId } },
      },
    ],
  };
}

function effectiveDeliveryPolicy(topic: Topic): JsonObject {
  if (topic.attributes.DeliveryPolicy) return JSON.parse(topic.attributes.DeliveryPolicy) as JsonObject;
  return {
    http: {
      defaultHealthyRetryPolicy: {
        minDelayTarget: DEFAULT_RETRY_POLICY.minDelayTarget,
        maxDelayTarget: DEFAULT_RETRY_POLICY.maxDelayTarget,
        numRetries: DEFAULT_RETRY_POLICY.numRetries,
        numMaxDelayRetries: 0,
        numNoDelayRetries: 0,
        numMinDelayRetries: 0,
        backoffFunction: 'linear',
      },
      disableSubscriptionOverrides: false,
      defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
    },
  };
}

/** POSTs one notification; resolves with the status code, rejects on connection failure or timeout. */
function post(url: URL, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      url,
      {
        method: 'POST',
        // A fresh connection per notification, closed afterwards, so no socket outlives the delivery.
        agent: false,
        headers: { ...headers, connection: 'close', 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no response within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

function paginate<T>(items: T[], token: string | undefined): { items: T[]; nextToken?: string } {
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalidParameter('NextToken');
  const end = start + PAGE_SIZE;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}

function required(params: Record<string, string>, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw invalidParameter(`${name} Reason: no value for required parameter`);
  return value;
}

function invalidParameter(what: string): AwsServiceError {
  return new AwsServiceError('InvalidParameter', `Invalid parameter: ${what}`);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
