/**
 * The SQS operations, on JSON-shaped input and output as the AWS JSON 1.0 protocol carries them
 * (the query protocol is read into the same shapes). Names, ranges, defaults and messages follow the
 * Amazon SQS API Reference.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { JsonObject, RequestContext } from '../protocol.ts';
import { FIFO_ATTRIBUTE_DEFAULTS, isFifo, QUEUE_ATTRIBUTE_DEFAULTS, type Queue, type QueuedMessage, type QueueScope, type QueueStore } from './queue-store.ts';
import {
  SqsError,
  missingParameter,
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
/** The values a FIFO queue attribute takes. */
const FIFO_ATTRIBUTE_VALUES: Record<string, string[]> = {
  ContentBasedDeduplication: ['true', 'false'],
  DeduplicationScope: ['messageGroup', 'queue'],
  FifoThroughputLimit: ['perQueue', 'perMessageGroupId'],
};
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_BATCH_ENTRIES = 10;
// MessageGroupId and MessageDeduplicationId: "up to 128 alphanumeric characters (a-z, A-Z, 0-9) and
// punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)" (API Reference, SendMessage).
const FIFO_TOKEN = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const NOT_FOR_THIS_QUEUE_TYPE = 'The request include parameter that is not valid for this queue type.';
const PURGE_INTERVAL_MS = 60_000;
const MAX_LIST_RESULTS = 1000;

export function resolveQueue(sqs: SqsBackend, input: JsonObject, context: RequestContext): Queue {
  const location = parseQueueUrl(requiredString(input, 'QueueUrl'));
  const queue = sqs.store.find({ accountId: location.accountId, region: location.region ?? context.region }, location.name);
  if (!queue) throw queueDoesNotExist();
  return queue;
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
function checkDeadLetterQueueType(sqs: SqsBackend, attributes: Record<string, string>, fifo: boolean): void {
  const value = attributes.RedrivePolicy;
  if (!value) return;
  const target = sqs.store.findByArn(String((JSON.parse(value) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn));
  if (target && isFifo(target) !== fifo) throw invalidValue('RedrivePolicy', value, 'Dead-letter queue must be same type of queue as the source.');
}

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

/**
 * One message of SendMessage or of a SendMessageBatch entry, checked and enqueued. On a FIFO queue
 * DelaySeconds may only be 0 (the queue's delay applies), MessageGroupId is required, and so is
 * MessageDeduplicationId unless the queue deduplicates by content (SHA-256 of the body).
 */
function sendOne(sqs: SqsBackend, queue: Queue, input: JsonObject, context: RequestContext): JsonObject {
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
  const fifo = isFifo(queue);
  const messageDelay = optionalInteger(input, 'DelaySeconds', 0, 900, 'DelaySeconds must be >= 0 and <= 900');
  if (fifo && messageDelay !== undefined && messageDelay !== 0) throw invalidValue('DelaySeconds', messageDelay, NOT_FOR_THIS_QUEUE_TYPE);
  const groupId = optionalString(input, 'MessageGroupId');
  const declaredDeduplicationId = optionalString(input, 'MessageDeduplicationId');
  if (fifo && !groupId) throw missingParameter('MessageGroupId');
  if (!fifo && declaredDeduplicationId !== undefined) throw invalidValue('MessageDeduplicationId', declaredDeduplicationId, NOT_FOR_THIS_QUEUE_TYPE);
  for (const [parameter, value] of [['MessageGroupId', groupId], ['MessageDeduplicationId', declaredDeduplicationId]] as const) {
    if (value !== undefined && !FIFO_TOKEN.test(value)) {
      throw invalidValue(parameter, value, `${parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length.`);
    }
  }
  if (fifo && declaredDeduplicationId === undefined && queue.attributes.ContentBasedDeduplication !== 'true') {
    throw invalidParameterValue('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
  }
  const deduplicationId = fifo ? (declaredDeduplicationId ?? createHash('sha256').update(body).digest('hex')) : undefined;
  const sent = sqs.store.send(queue, {
    body,
    attributes,
    senderId: context.accessKeyId,
    delaySeconds: fifo ? Number(queue.attributes.DelaySeconds) : (messageDelay ?? Number(queue.attributes.DelaySeconds)),
    ...(groupId !== undefined ? { groupId } : {}),
    ...(deduplicationId !== undefined ? { deduplicationId } : {}),
  });
  const md5OfAttributes = md5OfMessageAttributes(attributes);
  return {
    MD5OfMessageBody: md5Hex(body),
    ...(md5OfAttributes ? { MD5OfMessageAttributes: md5OfAttributes } : {}),
    MessageId: sent.messageId,
    ...(sent.sequenceNumber !== undefined ? { SequenceNumber: sent.sequenceNumber } : {}),
  };
}

const sendMessage: SqsOperation = (sqs, input, context) => sendOne(sqs, resolveQueue(sqs, input, context), input, context);

/**
 * The entries of a batch request, checked as a whole as SQS checks them: 1 to 10 entries, each Id
 * of letters, digits, hyphens and underscores (at most 80) and distinct.
 */
function batchEntries(input: JsonObject, entryName: string): (JsonObject & { Id: string })[] {
  const entries = input.Entries;
  if (entries === undefined || (Array.isArray(entries) && entries.length === 0)) {
    throw new SqsError('EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', `There should be at least one ${entryName} in the request.`);
  }
  if (!Array.isArray(entries)) throw invalidParameterValue('Entries must be a list.');
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const entry of entries as JsonObject[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !/^[\w-]{1,80}$/.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'AWS.SimpleQueueService.InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (seen.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
  }
  return entries as (JsonObject & { Id: string })[];
}

/** Runs one entry of a batch: its output joins Successful, its error Failed, as SQS reports them. */
function batchResult(entries: (JsonObject & { Id: string })[], run: (entry: JsonObject) => JsonObject): JsonObject {
  const successful: JsonObject[] = [];
  const failed: JsonObject[] = [];
  for (const entry of entries) {
    try {
      successful.push({ Id: entry.Id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      failed.push({ Id: entry.Id, SenderFault: error.statusCode < 500, Code: error.queryCode, Message: error.message });
    }
  }
  return { Successful: successful, Failed: failed };
}

const sendMessageBatch: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  const entries = batchEntries(input, 'SendMessageBatchRequestEntry');
  const maximum = Number(queue.attributes.MaximumMessageSize);
  const size = entries.reduce((total, entry) => total + Buffer.byteLength(typeof entry.MessageBody === 'string' ? entry.MessageBody : ''), 0);
  if (size > maximum) {
    throw new SqsError('BatchRequestTooLong', 'AWS.SimpleQueueService.BatchRequestTooLong', `Batch requests cannot be longer than ${maximum} bytes. You have sent ${size} bytes.`);
  }
  // A FIFO entry without a message group or deduplication ID fails the whole request, not the
  // entry (LocalStack's AWS-validated test_send_batch_missing_message_group_id_for_fifo_queue).
  if (isFifo(queue)) {
    if (entries.some((entry) => !entry.MessageGroupId)) throw invalidParameterValue('The request must contain the parameter MessageGroupId.');
    if (queue.attributes.ContentBasedDeduplication !== 'true' && entries.some((entry) => !entry.MessageDeduplicationId)) {
      throw invalidParameterValue('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    }
  }
  return batchResult(entries, (entry) => sendOne(sqs, queue, entry, context));
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

/** A received message as ReceiveMessage renders it, with the system and message attributes asked for. */
export function renderMessage(message: QueuedMessage, receiptHandle: string, systemNames: string[], attributeNames: string[]): JsonObject {
  const system: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    ...(message.sequenceNumber !== undefined ? { SequenceNumber: message.sequenceNumber } : {}),
    ...(message.deduplicationId !== undefined ? { MessageDeduplicationId: message.deduplicationId } : {}),
    ...(message.groupId !== undefined ? { MessageGroupId: message.groupId } : {}),
    ...(message.deadLetterSourceArn !== undefined ? { DeadLetterQueueSourceArn: message.deadLetterSourceArn } : {}),
  };
  const wantedSystem = systemNames.includes('All') ? Object.keys(system) : systemNames.filter((name) => name in system);
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

/** DeleteMessage of one receipt handle; true when a message was deleted. */
export function deleteByReceipt(sqs: SqsBackend, queue: Queue, handle: string): boolean {
  const receipt = sqs.store.lookupReceipt(queue, handle);
  if (receipt.kind === 'invalid') throw invalidReceiptHandle(handle);
  // The handle of an earlier receive: "the request will succeed, but the message might not be
  // deleted" (API Reference, DeleteMessage). Here it is not.
  if (receipt.kind === 'stale') return false;
  // A FIFO queue refuses a handle whose visibility timeout has ended, lest a message another
  // consumer may be about to receive in order be deleted.
  if (isFifo(queue) && !sqs.store.inFlight(receipt.message)) throw invalidValue('ReceiptHandle', handle, 'The receipt handle has expired.');
  sqs.store.remove(queue, receipt.message);
  return true;
}

const deleteMessage: SqsOperation = (sqs, input, context) => {
  deleteByReceipt(sqs, resolveQueue(sqs, input, context), requiredString(input, 'ReceiptHandle'));
  return {};
};

const deleteMessageBatch: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  return batchResult(batchEntries(input, 'DeleteMessageBatchRequestEntry'), (entry) => {
    deleteByReceipt(sqs, queue, requiredString(entry, 'ReceiptHandle'));
    return {};
  });
};

function changeVisibility(sqs: SqsBackend, queue: Queue, input: JsonObject): void {
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
}

const changeMessageVisibility: SqsOperation = (sqs, input, context) => {
  changeVisibility(sqs, resolveQueue(sqs, input, context), input);
  return {};
};

const changeMessageVisibilityBatch: SqsOperation = (sqs, input, context) => {
  const queue = resolveQueue(sqs, input, context);
  return batchResult(batchEntries(input, 'ChangeMessageVisibilityBatchRequestEntry'), (entry) => {
    changeVisibility(sqs, queue, entry);
    return {};
  });
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
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
  PurgeQueue: purgeQueue,
};
