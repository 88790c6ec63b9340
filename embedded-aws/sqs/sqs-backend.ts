/**
 * What every SQS operation works on, and the shape of an operation: JSON-shaped input and output as
 * the AWS JSON 1.0 protocol carries them (the query protocol is read into the same shapes).
 */
import type { Clock } from '../clock.ts';
import type { JsonObject, RequestContext } from '../protocol.ts';
import type { QueueStore } from './queue-store.ts';
import type { Queue } from './sqs-model.ts';
import { parseQueueUrl, queueDoesNotExist, requiredString } from './wire-format.ts';

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

/** The queue a request names by its QueueUrl; a URL without a Region is read in the request's. */
export function resolveQueue(sqs: SqsBackend, input: JsonObject, context: RequestContext): Queue {
  const location = parseQueueUrl(requiredString(input, 'QueueUrl'));
  const queue = sqs.store.find({ accountId: location.accountId, region: location.region ?? context.region }, location.name);
  if (!queue) throw queueDoesNotExist();
  return queue;
}
