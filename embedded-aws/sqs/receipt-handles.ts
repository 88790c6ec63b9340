/**
 * Receipt handles, as ReceiveMessage gives them and DeleteMessage and ChangeMessageVisibility take
 * them back: a handle of an earlier receive is told apart from the current one.
 */
import { randomBytes } from 'node:crypto';
import type { QueuedMessage } from './sqs-model.ts';

/** Whose receipt a receipt handle is: the queue, the message, and which of its receives. */
interface Receipt {
  queueArn: string;
  messageId: string;
  receive: number;
}

export type ReceiptLookup =
  | { kind: 'current'; message: QueuedMessage }
  /** A well-formed handle of an earlier receive, or of a message no longer in the queue. */
  | { kind: 'stale'; message?: QueuedMessage }
  | { kind: 'invalid' };

/** Opaque to clients, as SQS's are; it names the queue, the message and which receive it came from. */
export function receiptHandle(receipt: Receipt): string {
  const text = JSON.stringify([receipt.queueArn, receipt.messageId, receipt.receive, randomBytes(6).toString('hex')]);
  return Buffer.from(text).toString('base64');
}

export function parseReceiptHandle(handle: string): Receipt | undefined {
  try {
    const [queueArn, messageId, receive] = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as unknown[];
    if (typeof queueArn !== 'string' || typeof messageId !== 'string' || typeof receive !== 'number') return undefined;
    return { queueArn, messageId, receive };
  } catch {
    return undefined;
  }
}
