import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** The closure dead-letter queue, for what intake refuses itself (Lambda and EventBridge put their own there too). */
export interface DeadLetterQueue {
  send(body: object, attributes: Record<string, string>): Promise<string>;
}

export function deadLetterQueue(sqs: SQSClient, queueUrl: string): DeadLetterQueue {
  return {
    async send(body, attributes) {
      const response = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(body),
          // As EventBridge labels its own dead letters: an operator reads one kind of message.
          MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }])),
        }),
      );
      return response.MessageId ?? '';
    },
  };
}
