export {
  EmbeddedSns,
  type DeliveryRecord,
  type EmbeddedSnsOptions,
  type MessageAttributeValue,
  type PublishedMessage,
  type SubscriptionProtocol,
} from './embedded-sns.ts';
