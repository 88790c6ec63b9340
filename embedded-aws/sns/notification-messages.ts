/**
 * What SNS sends an endpoint: the notification JSON, the SubscriptionConfirmation JSON and their
 * headers, and the embedded console's one-line rendering.
 */
import type { JsonObject } from '../protocol.ts';
import type { PublishedMessage, Subscription, SubscriptionProtocol, Topic } from './sns-model.ts';

// Notifications cannot carry a real signature: that needs AWS's private signing key. Receivers that
// verify signatures must skip verification against the embedded SNS.
const UNSIGNED = 'EMBEDDED-SNS-UNSIGNED';
const UNSIGNED_CERT_URL = 'urn:embedded-aws:sns:unsigned';
const UNSUBSCRIBE_URL = 'urn:embedded-aws:sns:unsubscribe';
// AWS's SubscribeURL is an unauthenticated GET of ConfirmSubscription on the SNS endpoint, which
// the embedded AWS serves as AWS does. Without an endpoint (an SNS not behind a server) the URL
// names the call to make, and the subscriber confirms with ConfirmSubscription and the Token.
const SUBSCRIBE_URL_WITHOUT_ENDPOINT = 'urn:embedded-aws:sns:confirm';
const USER_AGENT = 'Amazon Simple Notification Service Agent';

/** With MessageStructure json, each protocol gets its own entry, or `default`. */
export function messageFor(protocol: SubscriptionProtocol, published: PublishedMessage): string {
  if (published.messageStructure !== 'json') return published.message;
  const structured = JSON.parse(published.message) as Record<string, unknown>;
  const specific = structured[protocol];
  return typeof specific === 'string' ? specific : String(structured.default);
}

/** The JSON body SNS POSTs to an http(s) subscriber (Developer Guide, "HTTP/HTTPS notification JSON format"). */
export function notification(subscription: Subscription, published: PublishedMessage, message: string): JsonObject {
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

/** The JSON body of the handshake (Developer Guide, "HTTP/HTTPS subscription confirmation JSON format"). */
export function subscriptionConfirmation(subscription: Subscription, token: string, messageId: string, timestamp: string, endpoint?: string): JsonObject {
  const base = endpoint === undefined ? SUBSCRIBE_URL_WITHOUT_ENDPOINT : `${endpoint}/`;
  const subscribeUrl = `${base}?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(subscription.topicArn)}&Token=${token}`;
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: messageId,
    Token: token,
    TopicArn: subscription.topicArn,
    Message: `You have chosen to subscribe to the topic ${subscription.topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: subscribeUrl,
    Timestamp: timestamp,
    SignatureVersion: '1',
    Signature: UNSIGNED,
    SigningCertURL: UNSIGNED_CERT_URL,
  };
}

/** The x-amz-sns-* headers of every POST (Developer Guide, "HTTP/HTTPS headers"). */
export function snsHeaders(type: 'Notification' | 'SubscriptionConfirmation', messageId: string, subscription: Subscription, contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'user-agent': USER_AGENT,
    'x-amz-sns-message-type': type,
    'x-amz-sns-message-id': messageId,
    'x-amz-sns-topic-arn': subscription.topicArn,
    'x-amz-sns-subscription-arn': subscription.arn,
  };
}

export function consoleLine(topic: Topic, published: PublishedMessage, message: string): string {
  const subject = published.subject !== undefined ? ` "${published.subject}"` : '';
  const attributes = Object.entries(published.messageAttributes)
    .map(([name, value]) => ` ${name}=${value.StringValue ?? '(binary)'}`)
    .join('');
  return `[SNS ${published.timestamp}] ${topic.name}${subject}${attributes}: ${message.replace(/\r?\n/g, '\\n')}`;
}
