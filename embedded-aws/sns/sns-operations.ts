/**
 * SNS's actions on the query protocol: each reads its parameters, asks the registry or the
 * publisher, and renders the XML answer the SDK deserialises. The only file that knows both the
 * wire and the model.
 */
import { AwsServiceError, type RequestContext } from '../protocol.ts';
import type { NotificationDelivery } from './notification-delivery.ts';
import { batchEntries, type TopicPublisher } from './publishing.ts';
import { element } from '../query-xml.ts';
import { attributeEntries, groupParameters, parseAttributeMap, parseTags, queryResponse } from './query-protocol.ts';
import { invalidParameter, required, validateMaximumMessageSize, validatePublication } from './request-validation.ts';
import { PAGE_SIZE } from './sns-limits.ts';
import type { Subscription } from './sns-model.ts';
import { SETTABLE_TOPIC_ATTRIBUTES, subscriptionAttributes, topicAttributes } from './topic-attributes.ts';
import type { TopicRegistry } from './topic-registry.ts';

export interface SnsParts {
  registry: TopicRegistry;
  publisher: TopicPublisher;
  delivery: NotificationDelivery;
}

type Params = Record<string, string>;
type Operation = (params: Params, context: RequestContext, parts: SnsParts) => string | undefined;

const OPERATIONS: Record<string, Operation> = {
  CreateTopic: (params, context, { registry }) => {
    const topic = registry.createTopic(context.region, context.accountId, required(params, 'Name'), {
      attributes: parseAttributeMap(params, 'Attributes'),
      tags: parseTags(params),
    });
    return element('TopicArn', topic.arn);
  },
  DeleteTopic: (params, context, { registry }) => {
    registry.deleteTopic(required(params, 'TopicArn'), context.region);
    return undefined;
  },
  ListTopics: (params, context, { registry }) => {
    const page = paginate(registry.topicsIn(context.region, context.accountId), params.NextToken);
    const members = page.items.map((topic) => `<member>${element('TopicArn', topic.arn)}</member>`).join('');
    return `<Topics>${members}</Topics>${element('NextToken', page.nextToken)}`;
  },
  GetTopicAttributes: (params, context, { registry }) => {
    const topic = registry.existingTopic(required(params, 'TopicArn'), context.region);
    return `<Attributes>${attributeEntries(topicAttributes(topic, registry.subscriptionsOf(topic.arn)))}</Attributes>`;
  },
  SetTopicAttributes: (params, context, { registry }) => {
    const topic = registry.existingTopic(required(params, 'TopicArn'), context.region);
    const name = required(params, 'AttributeName');
    if (!SETTABLE_TOPIC_ATTRIBUTES.has(name) || name === 'FifoTopic') throw invalidParameter('AttributeName');
    if (name === 'MaximumMessageSize') validateMaximumMessageSize(params.AttributeValue ?? '');
    topic.attributes[name] = params.AttributeValue ?? '';
    return undefined;
  },
  Subscribe: (params, context, { registry, delivery }) => {
    const topic = registry.existingTopic(required(params, 'TopicArn'), context.region);
    const { subscription, created } = registry.subscribe(topic, required(params, 'Protocol'), params.Endpoint, parseAttributeMap(params, 'Attributes'));
    if (created && subscription.pendingToken !== undefined) delivery.requestConfirmation(topic, subscription, subscription.pendingToken);
    // A subscription awaiting confirmation is answered "pending confirmation", unless the caller
    // asked for the ARN with ReturnSubscriptionArn (API reference, Subscribe).
    const pending = subscription.pendingToken !== undefined && params.ReturnSubscriptionArn !== 'true';
    return element('SubscriptionArn', pending ? 'pending confirmation' : subscription.arn);
  },
  ConfirmSubscription: (params, context, { registry }) => {
    // ConfirmSubscription needs no signature: the subscriber's GET of its SubscribeURL is unsigned,
    // and such a confirmation is not an authenticated one.
    const subscription = registry.confirm(required(params, 'TopicArn'), required(params, 'Token'), context.region, context.unsigned !== true);
    return element('SubscriptionArn', subscription.arn);
  },
  Unsubscribe: (params, _context, { registry }) => {
    registry.unsubscribe(required(params, 'SubscriptionArn'));
    return undefined;
  },
  ListSubscriptionsByTopic: (params, context, { registry }) => {
    const topic = registry.existingTopic(required(params, 'TopicArn'), context.region);
    return renderSubscriptions(paginate(registry.subscriptionsOf(topic.arn), params.NextToken));
  },
  ListSubscriptions: (params, context, { registry }) => renderSubscriptions(paginate(registry.subscriptionsIn(context.region, context.accountId), params.NextToken)),
  GetSubscriptionAttributes: (params, _context, { registry }) => {
    const subscription = registry.existingSubscription(required(params, 'SubscriptionArn'));
    return `<Attributes>${attributeEntries(subscriptionAttributes(subscription))}</Attributes>`;
  },
  SetSubscriptionAttributes: (params, _context, { registry }) => {
    const subscription = registry.existingSubscription(required(params, 'SubscriptionArn'));
    registry.setSubscriptionAttributes(subscription, { [required(params, 'AttributeName')]: params.AttributeValue ?? '' });
    return undefined;
  },
  Publish: (params, context, { registry, publisher }) => {
    if (params.PhoneNumber !== undefined) throw invalidParameter('PhoneNumber Reason: the embedded SNS does not send SMS');
    const parameter = params.TopicArn !== undefined ? 'TopicArn' : 'TargetArn';
    const arn = params.TopicArn ?? params.TargetArn;
    if (arn === undefined) throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
    // SNS checks the message before it looks for the topic.
    const publication = validatePublication(params);
    const published = publisher.publish(registry.existingTopic(arn, context.region, parameter), params, publication);
    return `${element('MessageId', published.messageId)}${element('SequenceNumber', published.sequenceNumber)}`;
  },
  PublishBatch: (params, context, { registry, publisher }) => {
    const entries = batchEntries(params);
    const outcome = publisher.publishBatch(registry.existingTopic(required(params, 'TopicArn'), context.region), entries);
    const successful = outcome.successful
      .map((entry) => `<member>${element('Id', entry.id)}${element('MessageId', entry.messageId)}${element('SequenceNumber', entry.sequenceNumber)}</member>`)
      .join('');
    const failed = outcome.failed
      .map(
        ({ id, error }) =>
          `<member>${element('Id', id)}${element('Code', error.code)}${element('Message', error.message)}<SenderFault>${error.statusCode < 500}</SenderFault></member>`,
      )
      .join('');
    return `<Successful>${successful}</Successful><Failed>${failed}</Failed>`;
  },
  TagResource: (params, _context, { registry }) => {
    registry.tag(registry.taggedTopic(required(params, 'ResourceArn')), parseTags(params));
    return undefined;
  },
  UntagResource: (params, _context, { registry }) => {
    const keys = groupParameters(params, 'TagKeys', 'member').map((key) => key[''] ?? '');
    registry.untag(registry.taggedTopic(required(params, 'ResourceArn')), keys);
    return undefined;
  },
  ListTagsForResource: (params, _context, { registry }) => {
    const topic = registry.taggedTopic(required(params, 'ResourceArn'));
    const members = Object.entries(topic.tags)
      .map(([key, value]) => `<member>${element('Key', key)}${element('Value', value)}</member>`)
      .join('');
    return `<Tags>${members}</Tags>`;
  },
};

/** Runs one action and renders its answer; an action SNS has but the embedded one lacks is InvalidAction. */
export function runOperation(action: string, params: Params, context: RequestContext, parts: SnsParts): string {
  const operation = OPERATIONS[action];
  if (!operation) throw new AwsServiceError('InvalidAction', `The embedded SNS does not implement ${action}.`);
  return queryResponse(action, context.requestId, operation(params, context, parts));
}

/** ListSubscriptions shows a subscription awaiting confirmation as "PendingConfirmation", not by its ARN. */
function renderSubscriptions(page: { items: Subscription[]; nextToken?: string }): string {
  const members = page.items
    .map(
      (subscription) =>
        `<member>${element('TopicArn', subscription.topicArn)}${element('Protocol', subscription.protocol)}` +
        `${element('SubscriptionArn', subscription.pendingToken === undefined ? subscription.arn : 'PendingConfirmation')}${element('Owner', subscription.owner)}` +
        `${element('Endpoint', subscription.endpoint)}</member>`,
    )
    .join('');
  return `<Subscriptions>${members}</Subscriptions>${element('NextToken', page.nextToken)}`;
}

function paginate<T>(items: T[], token: string | undefined): { items: T[]; nextToken?: string } {
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalidParameter('NextToken');
  const end = start + PAGE_SIZE;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}
