import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../erasure/notifications.ts';

export interface NotificationPublisher {
  publish(notification: Notification): Promise<string>;
}

export function notificationPublisher(sns: SNSClient): NotificationPublisher {
  return {
    async publish(notification) {
      const response = await sns.send(
        new PublishCommand({
          TopicArn: notification.topicArn,
          Subject: notification.subject,
          Message: notification.message,
          // Attributes let subscribers filter by kind (say, only `completed` for the audit archive).
          MessageAttributes: Object.fromEntries(
            Object.entries(notification.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
          ),
        }),
      );
      return response.MessageId ?? '';
    },
  };
}
