import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTagsForResourceCommand,
  ListTopicsCommand,
  PublishBatchCommand,
  PublishCommand,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsServiceError, type FaultInjector } from '../../../embedded-aws/protocol.ts';
import { ACCOUNT, closeAll, onCleanup, REGION, startSns, startSubscriber, subscribeHttp, TOPIC_ARN, TOPIC_NAME } from './sns-harness.ts';

afterEach(closeAll);

async function temporaryFile(name: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'embedded-sns-'));
  onCleanup(() => rm(directory, { recursive: true, force: true }));
  return join(directory, name);
}

async function readJsonLines(file: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function keyDeleted(message = 'Key for subject-42 was deleted.') {
  return {
    TopicArn: TOPIC_ARN,
    Subject: 'Erasure complete',
    Message: message,
    MessageAttributes: { kind: { DataType: 'String', StringValue: 'KeyDeleted' } },
  };
}

describe('EmbeddedSns topics', () => {
  it('creates a topic idempotently by name and lists it', async () => {
    const { client } = await startSns();

    const first = await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    const second = await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    const { Topics } = await client.send(new ListTopicsCommand({}));

    expect(first.TopicArn).toBe(TOPIC_ARN);
    expect(second.TopicArn).toBe(TOPIC_ARN);
    expect(Topics).toEqual([{ TopicArn: TOPIC_ARN }]);
  });

  it('keeps the attributes and tags given at creation', async () => {
    const { client } = await startSns();

    await client.send(
      new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { DisplayName: 'Erasure' }, Tags: [{ Key: 'purpose', Value: 'crypto-erasure' }] }),
    );
    const { Attributes } = await client.send(new GetTopicAttributesCommand({ TopicArn: TOPIC_ARN }));
    const { Tags } = await client.send(new ListTagsForResourceCommand({ ResourceArn: TOPIC_ARN }));

    expect(Attributes).toMatchObject({ DisplayName: 'Erasure', Owner: ACCOUNT, TopicArn: TOPIC_ARN, SubscriptionsConfirmed: '0' });
    expect(Tags).toEqual([{ Key: 'purpose', Value: 'crypto-erasure' }]);
  });

  it('refuses to re-create a topic with different attributes', async () => {
    const { client } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { DisplayName: 'Erasure' } }));

    const creating = client.send(new CreateTopicCommand({ Name: TOPIC_NAME, Attributes: { DisplayName: 'Other' } }));

    await expect(creating).rejects.toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('different attributes') });
  });

  it('answers NotFound "Topic does not exist" for a topic that does not exist', async () => {
    const { client } = await startSns();

    const publishing = client.send(new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:missing`, Message: 'hello' }));

    await expect(publishing).rejects.toMatchObject({
      name: 'NotFoundException',
      message: 'Topic does not exist',
      $fault: 'client',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('rejects an empty message with InvalidParameter', async () => {
    const { client } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));

    await expect(client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: '' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Invalid parameter: Empty message',
    });
  });

  it('makes topics declared in configuration reachable through the SDK', async () => {
    const { client, sns } = await startSns();

    const topicArn = sns.createTopicLocal(REGION, TOPIC_NAME, { accountId: ACCOUNT });
    const { MessageId } = await client.send(new PublishCommand({ TopicArn: topicArn, Message: 'hello' }));

    expect(topicArn).toBe(TOPIC_ARN);
    expect(sns.published(TOPIC_ARN)).toMatchObject([{ messageId: MessageId, message: 'hello' }]);
  });

  it('fails the call an injected fault names', async () => {
    const throttled: FaultInjector = (call) => (call.operation === 'Publish' ? new AwsServiceError('Throttled', 'Rate exceeded') : undefined);
    const { client } = await startSns({ faults: throttled });
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));

    await expect(client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'hello' }))).rejects.toMatchObject({ name: 'ThrottledException' });
  });
});

describe('EmbeddedSns subscriptions', () => {
  it('lists a subscription and forgets it after Unsubscribe, which is idempotent', async () => {
    const { client } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    const { SubscriptionArn } = await client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'console' }));

    const before = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: TOPIC_ARN }));
    await client.send(new UnsubscribeCommand({ SubscriptionArn }));
    const after = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn: TOPIC_ARN }));

    expect(SubscriptionArn).toMatch(new RegExp(`^${TOPIC_ARN}:[0-9a-f-]{36}$`));
    expect(before.Subscriptions).toEqual([{ TopicArn: TOPIC_ARN, Protocol: 'console', SubscriptionArn, Owner: ACCOUNT, Endpoint: 'console' }]);
    expect(after.Subscriptions).toEqual([]);
    await expect(client.send(new UnsubscribeCommand({ SubscriptionArn }))).resolves.toBeDefined();
  });

  it('removes the subscriptions of a deleted topic', async () => {
    const { client, sns } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    const { SubscriptionArn } = await client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'console' }));

    await client.send(new DeleteTopicCommand({ TopicArn: TOPIC_ARN }));

    await expect(client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(() => sns.subscribeLocal(TOPIC_ARN, 'console', 'console')).toThrow('Topic does not exist');
  });

  it('refuses protocols the embedded SNS cannot deliver to', async () => {
    const { client } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));

    const subscribing = client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'email', Endpoint: 'dpo@example.com' }));

    await expect(subscribing).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});

describe('EmbeddedSns delivery', () => {
  it('posts the SNS HTTP notification to an http subscriber', async () => {
    const harness = await startSns();
    const { client, sns, clock } = harness;
    const subscriber = await startSubscriber(clock);
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    const SubscriptionArn = await subscribeHttp(harness, subscriber);

    const { MessageId } = await client.send(new PublishCommand(keyDeleted()));
    await sns.idle();

    expect(subscriber.received).toHaveLength(1);
    const [request] = subscriber.received;
    expect(request?.headers).toMatchObject({
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': MessageId,
      'x-amz-sns-topic-arn': TOPIC_ARN,
      'x-amz-sns-subscription-arn': SubscriptionArn,
      'content-type': 'text/plain; charset=UTF-8',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({
      Type: 'Notification',
      MessageId,
      TopicArn: TOPIC_ARN,
      Subject: 'Erasure complete',
      Message: 'Key for subject-42 was deleted.',
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      SignatureVersion: '1',
      Signature: expect.any(String),
      SigningCertURL: expect.any(String),
      UnsubscribeURL: expect.stringContaining(encodeURIComponent(SubscriptionArn as string)),
      MessageAttributes: { kind: { Type: 'String', Value: 'KeyDeleted' } },
    });
    expect(sns.deliveries()).toMatchObject([{ outcome: 'delivered', attempts: 1, statusCode: 200 }]);
  });

  it('retries an http subscriber answering 500 three times, 20 seconds apart, then records the failure', async () => {
    const harness = await startSns();
    const { client, sns, clock, logLines } = harness;
    const subscriber = await startSubscriber(clock, () => 500);
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await subscribeHttp(harness, subscriber);

    await client.send(new PublishCommand(keyDeleted()));
    await sns.idle();

    expect(subscriber.received).toHaveLength(4);
    const gaps = subscriber.received.slice(1).map((request, index) => request.at - (subscriber.received[index]?.at as number));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(20_000);
    expect(sns.failedDeliveries()).toMatchObject([{ outcome: 'failed', attempts: 4, statusCode: 500 }]);
    expect(logLines.join('\n')).toContain('not delivered');
  });

  it('delivers on a retry once the http subscriber recovers', async () => {
    const harness = await startSns();
    const { client, sns, clock } = harness;
    const subscriber = await startSubscriber(clock, (requestNumber) => (requestNumber === 1 ? 503 : 200));
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await subscribeHttp(harness, subscriber);

    await client.send(new PublishCommand(keyDeleted()));
    await sns.idle();

    expect(subscriber.received).toHaveLength(2);
    expect(sns.deliveries()).toMatchObject([{ outcome: 'delivered', attempts: 2 }]);
    expect(sns.failedDeliveries()).toEqual([]);
  });

  it('does not retry an http subscriber that answers 4xx, as SNS counts it delivered', async () => {
    const harness = await startSns();
    const { client, sns, clock } = harness;
    const subscriber = await startSubscriber(clock, () => 404);
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await subscribeHttp(harness, subscriber);

    await client.send(new PublishCommand(keyDeleted()));
    await sns.idle();

    expect(subscriber.received).toHaveLength(1);
    expect(sns.failedDeliveries()).toMatchObject([{ outcome: 'rejected-by-endpoint', attempts: 1, statusCode: 404 }]);
  });

  it('appends one JSON line per notification to a file subscriber, in publish order', async () => {
    const { client, sns } = await startSns();
    const file = await temporaryFile('notifications.jsonl');
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'file', Endpoint: file }));

    const first = await client.send(new PublishCommand(keyDeleted('first')));
    const second = await client.send(new PublishCommand(keyDeleted('second')));
    await sns.idle();

    const lines = await readJsonLines(file);
    expect(lines.map((line) => [line.MessageId, line.Message])).toEqual([
      [first.MessageId, 'first'],
      [second.MessageId, 'second'],
    ]);
    expect(lines[0]).toMatchObject({ Type: 'Notification', TopicArn: TOPIC_ARN, Subject: 'Erasure complete' });
  });

  it('prints one readable line per notification for a console subscriber', async () => {
    const { client, sns, consoleLines } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'console' }));

    await client.send(new PublishCommand(keyDeleted('line one\nline two')));
    await sns.idle();

    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(/^\[SNS .+\] erasure-notifications "Erasure complete" kind=KeyDeleted: line one\\nline two$/);
  });

  it('delivers only messages whose attributes pass the subscription filter policy', async () => {
    const { client, sns } = await startSns();
    const file = await temporaryFile('deleted-only.jsonl');
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await client.send(
      new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'file', Endpoint: file, Attributes: { FilterPolicy: JSON.stringify({ kind: ['KeyDeleted'] }) } }),
    );

    await client.send(new PublishCommand(keyDeleted('deleted')));
    await client.send(new PublishCommand({ ...keyDeleted('reminder'), MessageAttributes: { kind: { DataType: 'String', StringValue: 'Reminder' } } }));
    await sns.idle();

    expect((await readJsonLines(file)).map((line) => line.Message)).toEqual(['deleted']);
    expect(sns.published(TOPIC_ARN)).toHaveLength(2);
  });

  it('sends each protocol its own message when MessageStructure is json', async () => {
    const harness = await startSns();
    const { client, sns, clock } = harness;
    const subscriber = await startSubscriber(clock);
    const file = await temporaryFile('structured.jsonl');
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));
    await subscribeHttp(harness, subscriber);
    await client.send(new SubscribeCommand({ TopicArn: TOPIC_ARN, Protocol: 'file', Endpoint: file }));

    await client.send(
      new PublishCommand({ TopicArn: TOPIC_ARN, MessageStructure: 'json', Message: JSON.stringify({ default: 'for everyone', http: 'for http' }) }),
    );
    await sns.idle();

    expect(JSON.parse(subscriber.received[0]?.body ?? '').Message).toBe('for http');
    expect((await readJsonLines(file))[0]?.Message).toBe('for everyone');
  });

  it('publishes a batch and reports the entries it refused', async () => {
    const { client, sns } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));

    const response = await client.send(
      new PublishBatchCommand({
        TopicArn: TOPIC_ARN,
        PublishBatchRequestEntries: [
          { Id: 'ok', Message: 'first', MessageAttributes: { kind: { DataType: 'String', StringValue: 'KeyDeleted' } } },
          { Id: 'empty', Message: '' },
        ],
      }),
    );

    expect(response.Successful).toEqual([{ Id: 'ok', MessageId: expect.any(String) }]);
    expect(response.Failed).toEqual([{ Id: 'empty', Code: 'InvalidParameter', Message: 'Invalid parameter: Empty message', SenderFault: true }]);
    expect(sns.published(TOPIC_ARN)).toMatchObject([{ message: 'first', messageAttributes: { kind: { DataType: 'String', StringValue: 'KeyDeleted' } } }]);
  });

  it('records every published message with its subject and attributes', async () => {
    const { client, sns } = await startSns();
    await client.send(new CreateTopicCommand({ Name: TOPIC_NAME }));

    const { MessageId } = await client.send(new PublishCommand(keyDeleted()));

    expect(sns.published()).toEqual([
      {
        messageId: MessageId,
        topicArn: TOPIC_ARN,
        region: REGION,
        subject: 'Erasure complete',
        message: 'Key for subject-42 was deleted.',
        messageAttributes: { kind: { DataType: 'String', StringValue: 'KeyDeleted' } },
        timestamp: expect.any(String),
      },
    ]);
  });
});
