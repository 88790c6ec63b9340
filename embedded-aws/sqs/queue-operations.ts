/**
 * The SQS operations, on JSON-shaped input and output as the AWS JSON 1.0 protocol carries them
 * (the query protocol is read into the same shapes). Names, ranges, defaults and messages follow the
 * Amazon SQS API Reference.
 */
import type { Clock } from '../clock.ts';
import type { JsonObject, RequestContext } from '../protocol.ts';
import { QUEUE_ATTRIBUTE_DEFAULTS, type Queue, type QueuedMessage, type QueueScope, type QueueStore } from './queue-store.ts';
import {
  SqsError,
  invalidParameterValue,
  invalidValue,
  md5Hex,
  md5OfMessageAttributes,
  messageAttributes,
  optionalInteger,
  optionalString,
  parseQueueUrl,
  queueDoesNotExist,
  renderAttribute,
  requiredString,
  stringList,
  stringMap,
} from './wire-format.ts';

/** What every SQS operation works on. */
export interface SqsBackend {
  store: QueueStore;
  clock: Clock;
  /** The URL CreateQueue, GetQueueUrl and ListQueues give for a queue. */
  queueUrl(queue: Queue): string;
  /** Resolves when the queue's contents change, after `realMs` of real time, or when the service closes. */
  waitForChange(queue: Queue, realMs: number): Promise<void>;
}

export type SqsOperation = (sqs: SqsBackend, input: JsonObject, context: RequestContext) => JsonObject | Promise<JsonObject>;

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
const MESSAGE_SYSTEM_ATTRIBUTES = ['SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'];
const MAX_VISIBILITY_SECONDS = 43_200;
const PURGE_INTERVAL_MS = 60_000;
const MAX_LIST_RESULTS = 1000;

export function resolveQueue(sqs: SqsBackend, input: JsonObject, context: RequestContext): Queue {
  const location = parseQueueUrl(requiredString(input, 'QueueUrl'));
  const queue = sqs.store.find({ accountId: location.accountId, region: location.region ?? context.region }, location.name);
  if (!queue) throw queueDoesNotExist();
  return queue;
}

/** The attributes CreateQueue or SetQueueAttributes may set, checked as SQS checks them. */
export function validatedAttributes(attributes: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(attributes)) {
    if (FIFO_ATTRIBUTES.includes(name)) {
      if (name === 'FifoQueue' && value === 'false') continue;
      throw fifoUnsupported(`${name} is a FIFO queue attribute`);
    }
    const range = INTEGER_ATTRIBUTES[name];
    if (range) {
      const number = Number(value);
      if (!Number.isInteger(number) || number < range[0] || number > range[1]) {
        throw new SqsError('InvalidAttributeValue', 'InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
      }
      continue;
    }
    if (name === 'SqsManagedSseEnabled' && value !== 'true' && value !== 'false') {
      throw new SqsError('InvalidAttributeValue', 'InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
    }
    if (!TEXT_ATTRIBUTES.includes(name)) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${name}.`);
  }
  const { FifoQueue: _standard, ...settable } = attributes;
  return settable;
}

function fifoUnsupported(what: string): SqsError {
  return new SqsError('UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', `The embedded SQS runs standard queues only: ${what}.`);
}

/** Creates a queue, or returns the existing one if its attributes are the ones asked for. */
export function createQueue(sqs: SqsBackend, scope: QueueScope, name: string, attributes: Record<string, string>, tags: Record<string, string>): Queue {
  if (!/^[\w-]{1,80}$/.test(name)) {
    if (name.endsWith('.fifo')) throw fifoUnsupported(`${name} is a FIFO queue name`);
    throw invalidParameterValue('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
  }
  const wanted = validatedAttributes(attributes);
  const existing = sqs.store.find(scope, name);
  if (existing) {
    const different = Object.entries(wanted).find(([attribute, value]) => existing.attributes[attribute] !== value);
    if (different) {
      throw new SqsError('QueueNameExists', 'QueueAlreadyExists', `A queue already exists with the same name and a different value for attribute ${different[0]}`);
    }
    return existing;
  }
  return sqs.store.create(scope, name, wanted, tags);
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
  const known = [...Object.keys(QUEUE_ATTRIBUTE_DEFAULTS), ...Object.keys(INTEGER_ATTRIBUTES), ...TEXT_ATTRIBUTES, ...COMPUTED_ATTRIBUTES, ...FIFO_ATTRIBUTES];
  const unknown = names.find((name) => name !== 'All' && !known.includes(name));
  if (unknown !== undefined) throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${unknown}.`);
  const counts = sqs.store.counts(queue);
  const all: Record<string, string> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
    ...queue.attributes,
  };
  const attributes = Object.fromEntries(Object.entries(all).filter(([name]) => everything || names.includes(name)));
  return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
};

const setQueueAttributes: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  Object.assign(queue.attributes, validatedAttributes(stringMap(input, 'Attributes')));
  queue.lastModifiedAt = sqs.store.now();
  return {};
};

const sendMessage: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const body = requiredString(input, 'MessageBody');
  // The characters XML 1.0 allows: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
  if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body)) {
    throw new SqsError('InvalidMessageContents', 'InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
  }
  const attributes = messageAttributes(input);
  const maximum = Number(queue.attributes.MaximumMessageSize);
  const size =
    Buffer.byteLength(body) +
    Object.entries(attributes).reduce(
      (total, [name, value]) => total + Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + (value.BinaryValue?.length ?? Buffer.byteLength(value.StringValue ?? '')),
      0,
    );
  if (size > maximum) throw invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${maximum} bytes.`);
  const delaySeconds = optionalInteger(input, 'DelaySeconds', 0, 900, 'DelaySeconds must be >= 0 and <= 900') ?? Number(queue.attributes.DelaySeconds);
  const message = sqs.store.send(queue, { body, attributes, senderId: context.accessKeyId, delaySeconds });
  const md5OfAttributes = md5OfMessageAttributes(attributes);
  return { MD5OfMessageBody: md5Hex(body), ...(md5OfAttributes ? { MD5OfMessageAttributes: md5OfAttributes } : {}), MessageId: message.messageId };
};

const receiveMessage: SqsOperation = async (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const max = optionalInteger(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
  const visibilitySeconds = optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS) ?? Number(queue.attributes.VisibilityTimeout);
  const waitSeconds = optionalInteger(input, 'WaitTimeSeconds', 0, 20, 'Must be >= 0 and <= 20, if provided.') ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds);
  const systemAttributes = [...stringList(input, 'AttributeNames'), ...stringList(input, 'MessageSystemAttributeNames')];
  const attributeNames = stringList(input, 'MessageAttributeNames');
  // Long polling waits in real time, as the caller's HTTP client does; a message that becomes
  // visible on the virtual clock meanwhile (a visibility timeout ending) is a change like a send.
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const received = sqs.store.receive(queue, max, visibilitySeconds);
    if (received.length > 0) {
      return { Messages: received.map(({ message, receiptHandle }) => renderMessage(message, receiptHandle, systemAttributes, attributeNames)) };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return {};
    await sqs.waitForChange(queue, remaining);
    if (!sqs.store.findByArn(queue.arn)) return {};
  }
};

function renderMessage(message: QueuedMessage, receiptHandle: string, systemNames: string[], attributeNames: string[]): JsonObject {
  const system: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
  };
  const wantedSystem = systemNames.includes('All') ? MESSAGE_SYSTEM_ATTRIBUTES : systemNames.filter((name) => name in system);
  const wanted = (name: string) =>
    attributeNames.some((pattern) => pattern === 'All' || pattern === '.*' || pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))));
  const attributes = Object.fromEntries(Object.entries(message.attributes).filter(([name]) => wanted(name)));
  const md5OfAttributes = md5OfMessageAttributes(attributes);
  return {
    MessageId: message.messageId,
    ReceiptHandle: receiptHandle,
    MD5OfBody: md5Hex(message.body),
    Body: message.body,
    ...(wantedSystem.length > 0 ? { Attributes: Object.fromEntries(wantedSystem.map((name) => [name, system[name] as string])) } : {}),
    ...(md5OfAttributes ? { MD5OfMessageAttributes: md5OfAttributes } : {}),
    ...(Object.keys(attributes).length > 0 ? { MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, renderAttribute(value)])) } : {}),
  };
}

function invalidReceiptHandle(handle: string): SqsError {
  return new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`, 404);
}

const deleteMessage: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const handle = requiredString(input, 'ReceiptHandle');
  const receipt = sqs.store.lookupReceipt(queue, handle);
  if (receipt.kind === 'invalid') throw invalidReceiptHandle(handle);
  // The handle of an earlier receive: "the request will succeed, but the message might not be
  // deleted" (API Reference, DeleteMessage). Here it is not.
  if (receipt.kind === 'current') sqs.store.remove(queue, receipt.message);
  return {};
};

const changeMessageVisibility: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const handle = requiredString(input, 'ReceiptHandle');
  if (input.VisibilityTimeout === undefined) throw new SqsError('MissingParameter', 'MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
  const seconds = optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_SECONDS) as number;
  const receipt = sqs.store.lookupReceipt(queue, handle);
  if (receipt.kind === 'invalid') throw invalidReceiptHandle(handle);
  if (receipt.kind === 'stale' && !receipt.message) {
    throw invalidValue('ReceiptHandle', handle, 'Message does not exist or is not available for visibility timeout change.');
  }
  if (receipt.kind === 'stale' || !sqs.store.inFlight(receipt.message)) {
    throw new SqsError('MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', 'The message referred to is not in flight.');
  }
  const receivedAt = receipt.message.inFlight.at(-1)?.from ?? sqs.store.now();
  // A message stays hidden at most 12 hours from the receive that hid it.
  if (sqs.store.now() + seconds * 1000 - receivedAt > MAX_VISIBILITY_SECONDS * 1000) {
    throw invalidValue('VisibilityTimeout', seconds, `Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_SECONDS} seconds]`);
  }
  sqs.store.changeVisibility(queue, receipt.message, seconds);
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
  SendMessage: sendMessage,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  ChangeMessageVisibility: changeMessageVisibility,
  PurgeQueue: purgeQueue,
};
