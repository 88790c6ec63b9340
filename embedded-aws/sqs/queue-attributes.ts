/**
 * Queue attributes: those CreateQueue and SetQueueAttributes may set, checked as SQS checks them,
 * and the full set GetQueueAttributes answers with (the queue's own, its timestamps and its counts).
 */
import type { SqsBackend } from './sqs-backend.ts';
import { isFifo, QUEUE_ATTRIBUTE_DEFAULTS, type Queue } from './sqs-model.ts';
import { invalidValue, SqsError } from './wire-format.ts';

/** Settable queue attributes and their valid ranges (CreateQueue, SetQueueAttributes). */
const INTEGER_ATTRIBUTES: Record<string, [number, number]> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};
const TEXT_ATTRIBUTES = ['Policy', 'RedrivePolicy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'SqsManagedSseEnabled'];
const FIFO_ATTRIBUTES = ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'];
const COMPUTED_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
];
/** The values a FIFO queue attribute takes. */
const FIFO_ATTRIBUTE_VALUES: Record<string, string[]> = {
  ContentBasedDeduplication: ['true', 'false'],
  DeduplicationScope: ['messageGroup', 'queue'],
  FifoThroughputLimit: ['perQueue', 'perMessageGroupId'],
};

/** Whether GetQueueAttributes knows an attribute of this name. */
export function isQueueAttributeName(name: string): boolean {
  return [...Object.keys(QUEUE_ATTRIBUTE_DEFAULTS), ...Object.keys(INTEGER_ATTRIBUTES), ...TEXT_ATTRIBUTES, ...COMPUTED_ATTRIBUTES, ...FIFO_ATTRIBUTES].includes(name);
}

/** Every attribute of the queue, as GetQueueAttributes renders it, with its messages counted as `counts` has them. */
export function queueAttributes(queue: Queue, counts: { visible: number; inFlight: number; delayed: number }): Record<string, string> {
  return {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
    ...queue.attributes,
  };
}

/**
 * The attributes CreateQueue or SetQueueAttributes may set on a queue of this type, checked as SQS
 * checks them; FifoQueue itself is left to the caller, which knows the queue's name.
 */
export function validatedAttributes(attributes: Record<string, string>, fifo: boolean): Record<string, string> {
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'FifoQueue') {
      if (value !== 'true' && value !== 'false') throw invalidAttributeValue(name);
      continue;
    }
    if (FIFO_ATTRIBUTES.includes(name)) {
      if (!fifo) {
        throw new SqsError(
          'InvalidAttributeName',
          'InvalidAttributeName',
          name === 'ContentBasedDeduplication' ? `Unknown Attribute ${name}.` : `You can specify the ${name} only when FifoQueue is set to true.`,
        );
      }
      if (!FIFO_ATTRIBUTE_VALUES[name]?.includes(value)) throw invalidAttributeValue(name);
      continue;
    }
    const range = INTEGER_ATTRIBUTES[name];
    if (range) {
      const number = Number(value);
      if (!Number.isInteger(number) || number < range[0] || number > range[1]) throw invalidAttributeValue(name);
      continue;
    }
    if (name === 'SqsManagedSseEnabled' && value !== 'true' && value !== 'false') throw invalidAttributeValue(name);
    if (name === 'RedrivePolicy' && value !== '') checkRedrivePolicy(value);
    if (!TEXT_ATTRIBUTES.includes(name)) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${name}.`);
  }
  const { FifoQueue: _type, ...settable } = attributes;
  return settable;
}

function invalidAttributeValue(name: string): SqsError {
  return new SqsError('InvalidAttributeValue', 'InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
}

function checkRedrivePolicy(value: string): void {
  let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  try {
    policy = JSON.parse(value) as typeof policy;
  } catch {
    throw invalidValue('RedrivePolicy', value, 'Redrive policy is not a valid JSON map.');
  }
  for (const mandatory of ['deadLetterTargetArn', 'maxReceiveCount'] as const) {
    if (policy[mandatory] === undefined) throw invalidValue('RedrivePolicy', value, `Redrive policy does not contain mandatory attribute: ${mandatory}.`);
  }
  const maxReceiveCount = Number(policy.maxReceiveCount);
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw invalidValue('RedrivePolicy', value, `Invalid value for maxReceiveCount: ${String(policy.maxReceiveCount)}, valid values are from 1 to 1000 both inclusive.`);
  }
}

/**
 * A FIFO queue's dead-letter queue must be a FIFO queue, a standard queue's a standard one (SQS
 * Developer Guide, "Configure a dead-letter queue"). A target not yet created is not checked: the
 * embedded deployment may create a source queue before its dead-letter queue.
 */
export function checkDeadLetterQueueType(sqs: SqsBackend, attributes: Record<string, string>, fifo: boolean): void {
  const value = attributes.RedrivePolicy;
  if (!value) return;
  const target = sqs.store.findByArn(String((JSON.parse(value) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn));
  if (target && isFifo(target) !== fifo) throw invalidValue('RedrivePolicy', value, 'Dead-letter queue must be same type of queue as the source.');
}
