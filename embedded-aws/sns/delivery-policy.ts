/**
 * Delivery policies: how often and how far apart SNS retries a delivery, and the Content-Type it
 * posts with, from the subscription's DeliveryPolicy, else the topic's, else SNS's defaults.
 */
import type { JsonObject } from '../protocol.ts';
import type { Subscription, Topic } from './sns-model.ts';
import { invalidParameter } from './request-validation.ts';

export interface RetryPolicy {
  numRetries: number;
  minDelayTarget: number;
  maxDelayTarget: number;
}

// The default HTTP/S delivery policy: three retries, 20 seconds apart (Developer Guide, "Set the
// delivery policy for the Amazon SNS subscription"). The embedded SNS applies it to every protocol.
export const DEFAULT_RETRY_POLICY: RetryPolicy = { numRetries: 3, minDelayTarget: 20, maxDelayTarget: 20 };
const DEFAULT_CONTENT_TYPE = 'text/plain; charset=UTF-8';

/** Refuses a DeliveryPolicy that is not JSON; returns the retry policy found at `path`, if any. */
export function retryPolicyFrom(deliveryPolicy: string, path: string): RetryPolicy | undefined {
  let policy: unknown;
  try {
    policy = JSON.parse(deliveryPolicy);
  } catch {
    throw invalidParameter('DeliveryPolicy: not JSON');
  }
  const found = at(policy, path);
  if (!isObject(found)) return undefined;
  const number = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback);
  const minDelayTarget = number(found.minDelayTarget, DEFAULT_RETRY_POLICY.minDelayTarget);
  return {
    numRetries: number(found.numRetries, DEFAULT_RETRY_POLICY.numRetries),
    minDelayTarget,
    maxDelayTarget: Math.max(minDelayTarget, number(found.maxDelayTarget, DEFAULT_RETRY_POLICY.maxDelayTarget)),
  };
}

export function retryPolicyOf(topic: Topic, subscription: Subscription): RetryPolicy {
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

/** Linear back-off from minDelayTarget to maxDelayTarget across the retries. */
export function retryDelaySeconds(policy: RetryPolicy, retry: number): number {
  if (policy.numRetries <= 1) return policy.minDelayTarget;
  return policy.minDelayTarget + ((policy.maxDelayTarget - policy.minDelayTarget) * (retry - 1)) / (policy.numRetries - 1);
}

export function requestContentType(topic: Topic, subscription: Subscription): string {
  for (const [policyText, path] of [
    [subscription.attributes.DeliveryPolicy, 'requestPolicy'],
    [topic.attributes.DeliveryPolicy, 'http.defaultRequestPolicy'],
  ] as const) {
    if (!policyText) continue;
    const policy = at(JSON.parse(policyText), path);
    if (isObject(policy) && typeof policy.headerContentType === 'string') return policy.headerContentType;
  }
  return DEFAULT_CONTENT_TYPE;
}

/** GetTopicAttributes' EffectiveDeliveryPolicy: the topic's own, or SNS's default spelled out. */
export function effectiveDeliveryPolicy(topic: Topic): JsonObject {
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
      defaultRequestPolicy: { headerContentType: DEFAULT_CONTENT_TYPE },
    },
  };
}

function at(value: unknown, path: string): unknown {
  let found = value;
  for (const step of path.split('.')) found = isObject(found) ? found[step] : undefined;
  return found;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
