/**
 * The operations on queues themselves: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue,
 * GetQueueAttributes, SetQueueAttributes and PurgeQueue. Names, ranges, defaults and messages
 * follow the Amazon SQS API Reference.
 */
import { checkDeadLetterQueueType, isQueueAttributeName, queueAttributes, validatedAttributes } from './queue-attributes.ts';
import { resolveQueue, type SqsBackend, type SqsOperation } from './sqs-backend.ts';
import { FIFO_ATTRIBUTE_DEFAULTS, isFifo, type Queue, type QueueScope } from './sqs-model.ts';
import { SqsError, invalidParameterValue, optionalInteger, optionalString, queueDoesNotExist, requiredString, stringList, stringMap } from './wire-format.ts';

const PURGE_INTERVAL_MS = 60_000;
const MAX_LIST_RESULTS = 1000;

/**
 * Creates a queue, or returns the existing one if its attributes are the ones asked for. A FIFO
 * queue is one whose name ends in `.fifo` and whose FifoQueue attribute is true: one without the
 * other is refused, as SQS refuses it.
 */
export function createQueue(sqs: SqsBackend, scope: QueueScope, name: string, attributes: Record<string, string>, tags: Record<string, string>): Queue {
  const fifo = attributes.FifoQueue === 'true';
  const baseName = fifo && name.endsWith('.fifo') ? `${name.slice(0, -'.fifo'.length)}_fifo` : name;
  if (fifo && (!name.endsWith('.fifo') || !/^[\w-]{1,80}$/.test(baseName))) {
    throw invalidParameterValue('The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.');
  }
  if (!/^[\w-]{1,80}$/.test(baseName)) throw invalidParameterValue('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
  const wanted = validatedAttributes(attributes, fifo);
  checkDeadLetterQueueType(sqs, wanted, fifo);
  const existing = sqs.store.find(scope, name);
  if (existing) {
    const different = Object.entries(wanted).find(([attribute, value]) => existing.attributes[attribute] !== value);
    if (different) {
      throw new SqsError('QueueNameExists', 'QueueAlreadyExists', `A queue already exists with the same name and a different value for attribute ${different[0]}`);
    }
    return existing;
  }
  return sqs.store.create(scope, name, fifo ? { ...FIFO_ATTRIBUTE_DEFAULTS, ...wanted } : wanted, tags);
}

const createQueueOperation: SqsOperation = (sqs, input, context) => {
  const queue = createQueue(sqs, context, requiredString(input, 'QueueName'), stringMap(input, 'Attributes'), stringMap(input, 'tags'));
  return { QueueUrl: sqs.queueUrl(queue) };
};

const getQueueUrl: SqsOperation = (sqs, input, context) => {
  const owner = optionalString(input, 'QueueOwnerAWSAccountId') ?? context.accountId;
  const queue = sqs.store.find({ accountId: owner, region: context.region }, requiredString(input, 'QueueName'));
  if (!queue) throw queueDoesNotExist();
  return { QueueUrl: sqs.queueUrl(queue) };
};

const listQueues: SqsOperation = (sqs, input, context) => {
  const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
  const maxResults = optionalInteger(input, 'MaxResults', 1, MAX_LIST_RESULTS);
  const token = optionalString(input, 'NextToken');
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw invalidParameterValue('Invalid NextToken value.');
  const urls = sqs.store
    .list(context)
    .filter((queue) => queue.name.startsWith(prefix))
    .map((queue) => sqs.queueUrl(queue))
    .sort();
  // Without MaxResults, SQS returns up to 1,000 URLs and no NextToken.
  const end = start + (maxResults ?? MAX_LIST_RESULTS);
  const page = urls.slice(start, end);
  return {
    ...(page.length > 0 ? { QueueUrls: page } : {}),
    ...(maxResults !== undefined && end < urls.length ? { NextToken: Buffer.from(String(end)).toString('base64url') } : {}),
  };
};

const deleteQueue: SqsOperation = (sqs, input, context) => {
  sqs.store.delete(resolveQueue(sqs, input, context));
  return {};
};

const getQueueAttributes: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const names = stringList(input, 'AttributeNames');
  const everything = names.includes('All');
  const unknown = names.find((name) => name !== 'All' && !isQueueAttributeName(name));
  if (unknown !== undefined) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${unknown}.`);
  const all = queueAttributes(queue, sqs.store.counts(queue));
  const attributes = Object.fromEntries(Object.entries(all).filter(([name]) => everything || names.includes(name)));
  return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
};

const setQueueAttributes: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const attributes = stringMap(input, 'Attributes');
  if (attributes.FifoQueue !== undefined) {
    if (!isFifo(queue)) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', 'Unknown Attribute FifoQueue.');
    if (attributes.FifoQueue !== 'true') {
      throw new SqsError('InvalidAttributeValue', 'InvalidAttributeValue', 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.');
    }
  }
  const settable = validatedAttributes(attributes, isFifo(queue));
  checkDeadLetterQueueType(sqs, settable, isFifo(queue));
  Object.assign(queue.attributes, settable);
  if (queue.attributes.RedrivePolicy === '') delete queue.attributes.RedrivePolicy;
  queue.lastModifiedAt = sqs.store.now();
  return {};
};

const purgeQueue: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  if (queue.lastPurgedAt !== undefined && sqs.store.now() - queue.lastPurgedAt < PURGE_INTERVAL_MS) {
    throw new SqsError('PurgeQueueInProgress', 'AWS.SimpleQueueService.PurgeQueueInProgress', `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`, 403);
  }
  sqs.store.purge(queue);
  return {};
};

export const QUEUE_OPERATIONS: Record<string, SqsOperation> = {
  CreateQueue: createQueueOperation,
  GetQueueUrl: getQueueUrl,
  ListQueues: listQueues,
  DeleteQueue: deleteQueue,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: setQueueAttributes,
  PurgeQueue: purgeQueue,
};
