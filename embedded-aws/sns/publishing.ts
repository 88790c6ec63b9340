/**
 * Publish and PublishBatch on a topic: the FIFO rules, the record of every message published, and
 * the fan-out to each confirmed subscription whose filter the message passes.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { AwsServiceError } from '../protocol.ts';
import type { NotificationDelivery } from './notification-delivery.ts';
import { groupParameters } from './query-protocol.ts';
import { invalidParameter, type Publication, publishedBytes, validatePublication } from './request-validation.ts';
import { DEFAULT_MAXIMUM_MESSAGE_SIZE, MAX_BATCH_ENTRIES, MAX_BATCH_ENTRY_ID_CHARACTERS } from './sns-limits.ts';
import type { PublishedMessage, Topic } from './sns-model.ts';
import { passesFilter } from './subscription-filter.ts';
import type { TopicRegistry } from './topic-registry.ts';

export interface BatchOutcome {
  successful: Array<{ id: string; messageId: string; sequenceNumber?: string }>;
  failed: Array<{ id: string; error: AwsServiceError }>;
}

export class TopicPublisher {
  private readonly registry: TopicRegistry;
  private readonly delivery: NotificationDelivery;
  private readonly clock: Clock;
  private readonly messages: PublishedMessage[] = [];

  constructor(registry: TopicRegistry, delivery: NotificationDelivery, clock: Clock) {
    this.registry = registry;
    this.delivery = delivery;
    this.clock = clock;
  }

  /** `params` holds one message's parameters: Publish's own, or one PublishBatch entry's. */
  publish(topic: Topic, params: Record<string, string>, publication: Publication = validatePublication(params)): PublishedMessage {
    if (publishedBytes(publication.message, publication.messageAttributes) > maximumMessageSize(topic)) throw invalidParameter('Message too long');
    let sequenceNumber: string | undefined;
    if (topic.fifo) {
      if (!params.MessageGroupId) throw invalidParameter('The MessageGroupId parameter is required for FIFO topics');
      if (!params.MessageDeduplicationId && topic.attributes.ContentBasedDeduplication !== 'true') {
        throw invalidParameter('The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
      }
      sequenceNumber = String(topic.nextSequenceNumber++);
    } else if (params.MessageDeduplicationId) {
      throw invalidParameter('MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type');
    }
    const published: PublishedMessage = {
      messageId: randomUUID(),
      topicArn: topic.arn,
      region: topic.region,
      ...(publication.subject !== undefined ? { subject: publication.subject } : {}),
      message: publication.message,
      ...(publication.messageStructure ? { messageStructure: publication.messageStructure } : {}),
      messageAttributes: publication.messageAttributes,
      timestamp: this.clock.now().toISOString(),
      ...(params.MessageGroupId ? { messageGroupId: params.MessageGroupId } : {}),
      ...(sequenceNumber ? { sequenceNumber } : {}),
    };
    this.messages.push(published);
    for (const subscription of this.registry.subscriptionsOf(topic.arn)) {
      // "Amazon SNS doesn't send notifications to this endpoint until the subscription is confirmed."
      if (subscription.pendingToken === undefined && passesFilter(subscription, published)) this.delivery.deliver(topic, subscription, published);
    }
    return published;
  }

  /**
   * Refuses the whole batch when its Ids are not distinct or well formed, or its messages together
   * pass the size limit; otherwise publishes each entry, reporting the ones refused.
   */
  publishBatch(topic: Topic, entries: Array<Record<string, string>>): BatchOutcome {
    const ids = entries.map((entry) => entry.Id ?? '');
    if (new Set(ids).size !== ids.length) {
      throw new AwsServiceError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
    }
    for (const id of ids) {
      if (id.length > MAX_BATCH_ENTRY_ID_CHARACTERS) {
        throw new AwsServiceError('InvalidBatchEntryId', `The Id of a batch entry in the batch request is too long: ${id}`);
      }
      if (!/^[A-Za-z0-9_-]+$/.test(id)) {
        throw new AwsServiceError('InvalidBatchEntryId', `The Id of a batch entry in the batch request contains an impermissible character: ${id}`);
      }
    }
    if (entries.reduce((total, entry) => total + entryBytes(entry), 0) > maximumMessageSize(topic)) {
      throw new AwsServiceError('BatchRequestTooLong', 'The length of all the messages put together is more than the limit.');
    }
    const outcome: BatchOutcome = { successful: [], failed: [] };
    for (const entry of entries) {
      try {
        const published = this.publish(topic, entry);
        outcome.successful.push({ id: entry.Id ?? '', messageId: published.messageId, ...(published.sequenceNumber ? { sequenceNumber: published.sequenceNumber } : {}) });
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        outcome.failed.push({ id: entry.Id ?? '', error });
      }
    }
    return outcome;
  }

  /** Every message published, in order: all of them or those of one topic. */
  published(topicArn?: string): PublishedMessage[] {
    return this.messages.filter((message) => topicArn === undefined || message.topicArn === topicArn).map((message) => ({ ...message }));
  }
}

function maximumMessageSize(topic: Topic): number {
  return Number(topic.attributes.MaximumMessageSize ?? DEFAULT_MAXIMUM_MESSAGE_SIZE);
}

/** An entry's bytes toward the batch limit: its message and its attributes' names, types and values. */
function entryBytes(entry: Record<string, string>): number {
  let bytes = Buffer.byteLength(entry.Message ?? '');
  for (const attribute of groupParameters(entry, 'MessageAttributes', 'entry')) {
    for (const part of [attribute.Name, attribute['Value.DataType'], attribute['Value.StringValue']]) bytes += Buffer.byteLength(part ?? '');
    bytes += Buffer.from(attribute['Value.BinaryValue'] ?? '', 'base64').length;
  }
  return bytes;
}

/** A PublishBatch's entries; an empty or oversized batch is refused before the topic is looked at. */
export function batchEntries(params: Record<string, string>): Array<Record<string, string>> {
  const entries = groupParameters(params, 'PublishBatchRequestEntries', 'member');
  if (entries.length === 0) throw new AwsServiceError('EmptyBatchRequest', "The batch request doesn't contain any entries.");
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new AwsServiceError('TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible.');
  }
  return entries;
}
