/**
 * The operations on messages: SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility
 * and their batches, with the FIFO rules each applies. Names, ranges and messages follow the Amazon
 * SQS API Reference.
 */
import { createHash } from 'node:crypto';
import type { JsonObject, RequestContext } from '../protocol.ts';
import { batchEntries, batchResult } from './batch-requests.ts';
import { resolveQueue, type SqsBackend, type SqsOperation } from './sqs-backend.ts';
import { isFifo, type Queue, type QueuedMessage } from './sqs-model.ts';
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
  renderAttribute,
  requiredString,
  stringList,
} from './wire-format.ts';

const MAX_VISIBILITY_SECONDS = 43_200;
// MessageGroupId and MessageDeduplicationId: "up to 128 alphanumeric characters (a-z, A-Z, 0-9) and
// punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)" (API Reference, SendMessage).
const FIFO_TOKEN = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const NOT_FOR_THIS_QUEUE_TYPE = 'The request include parameter that is not valid for this queue type.';

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

export const MESSAGE_OPERATIONS: Record<string, SqsOperation> = {
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
};
