/**
 * Topics and their subscriptions: creating, finding, confirming and removing them, as SNS's model
 * does. Knows nothing of the wire; sns-operations.ts reads requests and renders answers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsServiceError } from '../protocol.ts';
import { retryPolicyFrom } from './delivery-policy.ts';
import type { Subscription, Topic } from './sns-model.ts';
import { MAX_TAGS_PER_TOPIC } from './sns-limits.ts';
import { compileFilterPolicy } from './subscription-filter.ts';
import { SETTABLE_SUBSCRIPTION_ATTRIBUTES, SETTABLE_TOPIC_ATTRIBUTES } from './topic-attributes.ts';
import {
  invalidParameter,
  notFound,
  parseProtocol,
  validateEndpoint,
  validateSubscriptionArn,
  validateTopicArn,
  validateMaximumMessageSize,
  validateTopicName,
} from './request-validation.ts';

/** Protocols whose endpoint must confirm before it is sent anything (Developer Guide, "Subscribing an HTTP/S endpoint"). */
const CONFIRMED_BY_HANDSHAKE = new Set(['http', 'https']);

export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** Confirmation tokens, kept after use: ConfirmSubscription with a used token confirms nothing new but still answers. */
  private readonly tokens = new Map<string, string>();

  createTopic(region: string, accountId: string, name: string, requested: { attributes: Record<string, string>; tags: Record<string, string> }): Topic {
    for (const attribute of Object.keys(requested.attributes)) {
      if (!SETTABLE_TOPIC_ATTRIBUTES.has(attribute)) throw invalidParameter(`Attributes Reason: Unknown attribute ${attribute}`);
    }
    if (requested.attributes.MaximumMessageSize !== undefined) validateMaximumMessageSize(requested.attributes.MaximumMessageSize);
    const fifo = requested.attributes.FifoTopic?.toLowerCase() === 'true';
    validateTopicName(name, fifo);
    // FifoTopic "false" is accepted and not kept: a standard topic reports no FifoTopic attribute,
    // whether or not its creator said "false" (moto's and LocalStack's AWS-validated behaviour).
    const attributes = { ...requested.attributes };
    if (!fifo) delete attributes.FifoTopic;
    const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
    const existing = this.topics.get(arn);
    if (existing) {
      // CreateTopic is idempotent, but only if it asks for what the topic already is.
      if (Object.entries(attributes).some(([key, value]) => (existing.attributes[key] ?? '') !== value)) {
        throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
      }
      if (Object.entries(requested.tags).some(([key, value]) => existing.tags[key] !== value)) {
        throw invalidParameter('Tags Reason: Topic already exists with different tags');
      }
      return existing;
    }
    if (Object.keys(requested.tags).length > MAX_TAGS_PER_TOPIC) throw tagLimitExceeded();
    const topic: Topic = {
      arn,
      name,
      region,
      accountId,
      attributes,
      tags: { ...requested.tags },
      fifo,
      nextSequenceNumber: 10_000_000_000_000_000_000n,
    };
    this.topics.set(arn, topic);
    return topic;
  }

  /** DeleteTopic succeeds for a topic that does not exist; its subscriptions go with it. */
  deleteTopic(arn: string, region: string): void {
    validateTopicArn(arn, region);
    this.topics.delete(arn);
    for (const [subscriptionArn, subscription] of this.subscriptions) {
      if (subscription.topicArn === arn) this.subscriptions.delete(subscriptionArn);
    }
  }

  /** The topic, unchecked: for callers inside the embedded AWS that hold a real ARN. */
  topic(arn: string): Topic | undefined {
    return this.topics.get(arn);
  }

  existingTopic(arn: string, region: string, parameter = 'TopicArn'): Topic {
    validateTopicArn(arn, region, parameter);
    const topic = this.topics.get(arn);
    if (!topic) throw notFound('Topic');
    return topic;
  }

  topicsIn(region: string, accountId: string): Topic[] {
    return [...this.topics.values()].filter((topic) => topic.region === region && topic.accountId === accountId);
  }

  /** The tagging API answers a missing resource with ResourceNotFound, not SNS's NotFound. */
  taggedTopic(arn: string): Topic {
    const topic = this.topics.get(arn);
    if (!topic) throw new AwsServiceError('ResourceNotFound', 'Resource does not exist', 404);
    return topic;
  }

  tag(topic: Topic, tags: Record<string, string>): void {
    const merged = { ...topic.tags, ...tags };
    if (Object.keys(merged).length > MAX_TAGS_PER_TOPIC) throw tagLimitExceeded();
    topic.tags = merged;
  }

  untag(topic: Topic, keys: string[]): void {
    for (const key of keys) delete topic.tags[key];
  }

  /**
   * Subscribing the same endpoint twice returns the existing subscription, as SNS does. An http(s)
   * subscription starts pending with a fresh confirmation token; `created` tells the caller to send
   * the SubscriptionConfirmation.
   */
  subscribe(topic: Topic, protocolName: string, endpointParameter: string | undefined, attributes: Record<string, string>): { subscription: Subscription; created: boolean } {
    const protocol = parseProtocol(protocolName);
    const endpoint = validateEndpoint(protocol, endpointParameter);
    const existing = [...this.subscriptions.values()].find(
      (subscription) => subscription.topicArn === topic.arn && subscription.protocol === protocol && subscription.endpoint === endpoint,
    );
    if (existing) return { subscription: existing, created: false };
    const handshake = CONFIRMED_BY_HANDSHAKE.has(protocol);
    const subscription: Subscription = {
      arn: `${topic.arn}:${randomUUID()}`,
      topicArn: topic.arn,
      protocol,
      endpoint,
      owner: topic.accountId,
      attributes: {},
      // SNS confirms the subscriptions it can trust without asking; the embedded file and console
      // endpoints are the caller's own, so they are confirmed at once.
      confirmationWasAuthenticated: !handshake,
    };
    this.setSubscriptionAttributes(subscription, attributes);
    if (handshake) {
      // AWS's confirmation tokens are long hex strings (LocalStack measured 288 characters).
      subscription.pendingToken = randomBytes(144).toString('hex');
      this.tokens.set(subscription.pendingToken, subscription.arn);
    }
    this.subscriptions.set(subscription.arn, subscription);
    return { subscription, created: true };
  }

  /**
   * ConfirmSubscription: an unknown token is "Invalid parameter: Token"; a token of another topic's
   * subscription, or a topic ARN SNS cannot read, is "Invalid parameter: Topic". Confirming twice
   * answers the same ARN.
   */
  confirm(topicArn: string, token: string, region: string, authenticated: boolean): Subscription {
    try {
      validateTopicArn(topicArn, region);
    } catch {
      throw invalidParameter('Topic');
    }
    const subscriptionArn = this.tokens.get(token);
    const subscription = subscriptionArn === undefined ? undefined : this.subscriptions.get(subscriptionArn);
    if (!subscription) throw invalidParameter('Token');
    if (subscription.topicArn !== topicArn) throw invalidParameter('Topic');
    if (subscription.pendingToken !== undefined) {
      delete subscription.pendingToken;
      subscription.confirmationWasAuthenticated = authenticated;
    }
    return subscription;
  }

  /**
   * Unsubscribe is idempotent: a well-formed ARN of no subscription succeeds. Six elements is a
   * topic's ARN without the subscription id, refused as "Invalid parameter: SubscriptionId".
   */
  unsubscribe(arn: string): void {
    const elements = validateSubscriptionArn(arn);
    if (this.subscriptions.delete(arn)) return;
    if (elements === 6) throw invalidParameter('SubscriptionId');
  }

  existingSubscription(arn: string): Subscription {
    validateSubscriptionArn(arn);
    const subscription = this.subscriptions.get(arn);
    if (!subscription) throw notFound('Subscription');
    return subscription;
  }

  setSubscriptionAttributes(subscription: Subscription, attributes: Record<string, string>): void {
    const merged = { ...subscription.attributes };
    for (const [name, value] of Object.entries(attributes)) {
      if (!SETTABLE_SUBSCRIPTION_ATTRIBUTES.has(name)) throw invalidParameter('AttributeName');
      merged[name] = value;
    }
    if (merged.RawMessageDelivery !== undefined && !['true', 'false'].includes(merged.RawMessageDelivery)) {
      throw invalidParameter(`Attributes Reason: RawMessageDelivery: Invalid value [${merged.RawMessageDelivery}]. Must be true or false.`);
    }
    if (merged.FilterPolicyScope !== undefined && !['MessageAttributes', 'MessageBody'].includes(merged.FilterPolicyScope)) {
      throw invalidParameter(`Attributes Reason: FilterPolicyScope: Invalid value [${merged.FilterPolicyScope}]`);
    }
    const filter = merged.FilterPolicy ? compileFilterPolicy(merged.FilterPolicy) : undefined;
    if (merged.DeliveryPolicy !== undefined) retryPolicyFrom(merged.DeliveryPolicy, 'healthyRetryPolicy');
    subscription.attributes = merged;
    subscription.filter = filter;
  }

  subscriptionsOf(topicArn: string): Subscription[] {
    return [...this.subscriptions.values()].filter((subscription) => subscription.topicArn === topicArn);
  }

  subscriptionsIn(region: string, accountId: string): Subscription[] {
    return [...this.subscriptions.values()].filter((subscription) => {
      const topic = this.topics.get(subscription.topicArn);
      return topic !== undefined && topic.region === region && topic.accountId === accountId;
    });
  }
}

function tagLimitExceeded(): AwsServiceError {
  return new AwsServiceError('TagLimitExceeded', 'Could not complete request: tag quota of per resource exceeded');
}
