/**
 * What the embedded SNS keeps: topics, their subscriptions, and the messages published to them.
 * Plain data; the operations on it live in topic-registry.ts and publishing.ts.
 */
import type { CompiledPattern } from '../eventbridge/event-pattern.ts';

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

export interface Topic {
  arn: string;
  name: string;
  region: string;
  accountId: string;
  /** The attributes the caller set; defaults are added when they are read (topic-attributes.ts). */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  fifo: boolean;
  nextSequenceNumber: bigint;
}

export interface Subscription {
  arn: string;
  topicArn: string;
  protocol: SubscriptionProtocol;
  endpoint: string;
  owner: string;
  attributes: Record<string, string>;
  filter?: CompiledPattern;
  /**
   * Set while an http(s) subscription waits for ConfirmSubscription with this token: SNS sends such
   * an endpoint nothing but the SubscriptionConfirmation until then (Developer Guide, "HTTP/HTTPS
   * subscription confirmation JSON format").
   */
  pendingToken?: string;
  /** Whether the confirmation came from a signed ConfirmSubscription call. */
  confirmationWasAuthenticated: boolean;
}
