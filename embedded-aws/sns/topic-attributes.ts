/**
 * The attributes SNS lets a caller set, and the full set it answers GetTopicAttributes and
 * GetSubscriptionAttributes with: the caller's values over SNS's defaults and counts.
 */
import type { JsonObject } from '../protocol.ts';
import { effectiveDeliveryPolicy } from './delivery-policy.ts';
import type { Subscription, Topic } from './sns-model.ts';

export const SETTABLE_TOPIC_ATTRIBUTES = new Set([
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
  'MaximumMessageSize',
]);

export const SETTABLE_SUBSCRIPTION_ATTRIBUTES = new Set([
  'DeliveryPolicy',
  'FilterPolicy',
  'FilterPolicyScope',
  'RawMessageDelivery',
  'RedrivePolicy',
  'SubscriptionRoleArn',
]);

export function topicAttributes(topic: Topic, subscriptions: Subscription[]): Record<string, string> {
  const pending = subscriptions.filter((subscription) => subscription.pendingToken !== undefined).length;
  return {
    Policy: JSON.stringify(defaultTopicPolicy(topic)),
    Owner: topic.accountId,
    SubscriptionsPending: String(pending),
    TopicArn: topic.arn,
    EffectiveDeliveryPolicy: JSON.stringify(effectiveDeliveryPolicy(topic)),
    SubscriptionsConfirmed: String(subscriptions.length - pending),
    DisplayName: '',
    SubscriptionsDeleted: '0',
    ...(topic.fifo ? { FifoTopic: 'true', ContentBasedDeduplication: 'false' } : {}),
    ...topic.attributes,
  };
}

export function subscriptionAttributes(subscription: Subscription): Record<string, string> {
  return {
    ConfirmationWasAuthenticated: String(subscription.confirmationWasAuthenticated),
    PendingConfirmation: String(subscription.pendingToken !== undefined),
    RawMessageDelivery: 'false',
    Owner: subscription.owner,
    SubscriptionArn: subscription.arn,
    TopicArn: subscription.topicArn,
    Protocol: subscription.protocol,
    Endpoint: subscription.endpoint,
    ...subscription.attributes,
  };
}

/** The access policy SNS gives a new topic: the owner account may do everything to it. */
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
