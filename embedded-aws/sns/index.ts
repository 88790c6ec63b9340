export { EmbeddedSns, type EmbeddedSnsOptions } from './embedded-sns.ts';
export type { DeliveryRecord, MessageAttributeValue, PublishedMessage, SubscriptionProtocol } from './sns-model.ts';
