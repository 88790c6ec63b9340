import { SNSClient } from '@aws-sdk/client-sns';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { composeNotifications, type NotificationFacts } from './lib/erasure/notifications.ts';
import { readNotificationConfig } from './lib/erasure/settings.ts';
import { NotifyInput } from './lib/erasure/task-inputs.ts';
import { now } from './lib/runtime/clock.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';

const publisher = notificationPublisher(new SNSClient({}));

export const handler = erasureTask(NotifyInput, async (facts) => {
  const notifications = composeNotifications(facts as NotificationFacts, readNotificationConfig(), now());
  const messageIds: string[] = [];
  for (const notification of notifications) {
    messageIds.push(await publisher.publish(notification));
  }
  logger.info('notified', { kind: facts.kind, messageIds });
  return { kind: facts.kind, messageIds };
});
