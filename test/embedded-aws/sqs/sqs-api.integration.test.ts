import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsServiceError, type FaultInjector } from '../../../embedded-aws/protocol.ts';
import { ACCOUNT, CREDENTIALS, failure, REGION, startSqs as startSqsHarness, stopAll } from './sqs-harness.ts';

/** One SQS with a standard queue, on a clock that runs in real time. */
const startSqs = (options: { faults?: FaultInjector; queueAttributes?: Record<string, string> } = {}) => startSqsHarness({ queueName: 'closures-dlq', timeScale: 1, ...options });
afterEach(stopAll);

describe('the embedded SQS over AWS JSON 1.0, through the SDK', () => {
  it("gives queue URLs on its own endpoint, finds queues by name, and refuses an unknown one with SQS's error", async () => {
    const { client, endpoint, queueUrl } = await startSqs();

    expect(queueUrl).toBe(`${endpoint}/${ACCOUNT}/closures-dlq`);
    expect((await client.send(new GetQueueUrlCommand({ QueueName: 'closures-dlq' }))).QueueUrl).toBe(queueUrl);
    expect((await client.send(new ListQueuesCommand({ QueueNamePrefix: 'closures' }))).QueueUrls).toEqual([queueUrl]);
    const error = await failure(client.send(new GetQueueUrlCommand({ QueueName: 'nowhere' })));
    expect(error.name).toBe('QueueDoesNotExist');
    expect(error.Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
    expect(error.message).toBe('The specified queue does not exist.');
  });

  it('accepts the queue URL in AWS form, as CloudFormation gives it', async () => {
    const { client, sqs } = await startSqs();

    await client.send(new SendMessageCommand({ QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/closures-dlq`, MessageBody: '{"n":1}' }));

    expect(sqs.messages(`arn:aws:sqs:${REGION}:${ACCOUNT}:closures-dlq`).map((message) => message.body)).toEqual([{ n: 1 }]);
  });

  it('returns a message with its attributes, system attributes and digests the SDK verifies', async () => {
    const { client, clock, queueUrl } = await startSqs();
    const sentAfter = clock.now().getTime();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'closure refused',
        MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'ClosureEventInvalid' }, RETRY_ATTEMPTS: { DataType: 'Number', StringValue: '0' } },
      }),
    );

    const { Messages } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
    );

    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(Messages).toEqual([
      expect.objectContaining({
        MessageId: sent.MessageId,
        Body: 'closure refused',
        MD5OfMessageAttributes: sent.MD5OfMessageAttributes,
        MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'ClosureEventInvalid' }, RETRY_ATTEMPTS: { DataType: 'Number', StringValue: '0' } },
        Attributes: expect.objectContaining({ ApproximateReceiveCount: '1', SenderId: CREDENTIALS.accessKeyId }),
      }),
    ]);
    // Epoch milliseconds on the virtual clock.
    expect(Number(Messages?.[0]?.Attributes?.SentTimestamp)).toBeGreaterThanOrEqual(sentAfter);
    expect(Number(Messages?.[0]?.Attributes?.SentTimestamp)).toBeLessThanOrEqual(clock.now().getTime());
  });

  it('deletes a message by its receipt handle, and refuses a handle it never gave', async () => {
    const { client, queueUrl } = await startSqs();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'one' }));
    const [message] = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))).Messages ?? [];

    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle }));
    const error = await failure(client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'not-a-receipt-handle' })));

    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
    expect(error.name).toBe('ReceiptHandleIsInvalid');
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });

  it('counts visible, in-flight and delayed messages in GetQueueAttributes', async () => {
    const { client, queueUrl } = await startSqs();
    for (const body of ['a', 'b', 'c']) await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 60 }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));

    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed', 'QueueArn'],
      }),
    );

    expect(Attributes).toEqual({
      ApproximateNumberOfMessages: '2',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '1',
      QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:closures-dlq`,
    });
  });

  it('returns a received message to the queue when its visibility timeout ends on the virtual clock', async () => {
    const { client, clock, queueUrl } = await startSqs();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'retry me' }));
    const [first] = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }))).Messages ?? [];

    const hidden = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    clock.advance(30_000);
    const [again] = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }))).Messages ?? [];

    expect(hidden.Messages).toBeUndefined();
    expect(again).toMatchObject({ MessageId: first?.MessageId, Attributes: { ApproximateReceiveCount: '2' } });
    expect(again?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
  });

  it("does not delete a message with the receipt handle of an earlier receive", async () => {
    const { client, clock, queueUrl } = await startSqs();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'twice received' }));
    const [first] = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 10 }))).Messages ?? [];
    clock.advance(10_000);
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));

    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first?.ReceiptHandle }));

    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
    expect(Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');
  });

  it('makes a message visible at once with ChangeMessageVisibility 0, and refuses it for a message not in flight', async () => {
    const { client, queueUrl } = await startSqs();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'give back' }));
    const [message] = (await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 600 }))).Messages ?? [];

    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 0 }));
    const error = await failure(client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 30 })));

    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))).Messages?.[0]?.MessageId).toBe(message?.MessageId);
    expect(error.name).toBe('MessageNotInflight');
    expect(error.Code).toBe('AWS.SimpleQueueService.MessageNotInflight');
  });

  it('answers a long poll as soon as a message arrives', async () => {
    const { client, queueUrl } = await startSqs();
    const started = Date.now();

    const polling = client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 }));
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'arrived' })), 100);

    expect((await polling).Messages?.[0]?.Body).toBe('arrived');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers a long poll when a visibility timeout ends meanwhile on the virtual clock', async () => {
    const { client, clock, queueUrl } = await startSqs();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hidden' }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 3_600 }));

    const polling = client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 }));
    setTimeout(() => clock.advance(3_600_000), 100);

    expect((await polling).Messages?.[0]?.Body).toBe('hidden');
  });

  it('ends an empty long poll after WaitTimeSeconds of real time', async () => {
    const { client, queueUrl } = await startSqs();
    const started = Date.now();

    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));

    expect(Messages).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('refuses more than 10 messages per receive with InvalidParameterValue', async () => {
    const { client, queueUrl } = await startSqs();

    const error = await failure(client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 })));

    expect(error.name).toBe('InvalidParameterValue');
    expect(error.message).toBe('Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.');
  });

  it('purges a queue, once a minute at most', async () => {
    const { client, queueUrl } = await startSqs();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'purged' }));

    await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    const error = await failure(client.send(new PurgeQueueCommand({ QueueUrl: queueUrl })));

    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))).Messages).toBeUndefined();
    expect(error.name).toBe('PurgeQueueInProgress');
  });

  it('deletes a message once its retention period has passed on the virtual clock', async () => {
    const { client, clock, sqs, queueUrl } = await startSqs({ queueAttributes: { MessageRetentionPeriod: '60' } });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'short-lived' }));

    clock.advance(60_000);

    expect(sqs.messages()).toEqual([]);
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'MessageRetentionPeriod'] }));
    expect(Attributes).toEqual({ ApproximateNumberOfMessages: '0', MessageRetentionPeriod: '60' });
  });

  it('fails a call the fault injector names, with its error', async () => {
    const throttled: FaultInjector = (call) => (call.service === 'sqs' && call.operation === 'SendMessage' ? new AwsServiceError('RequestThrottled', 'Rate exceeded', 403) : undefined);
    const { client, queueUrl } = await startSqs({ faults: throttled });

    const error = await failure(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' })));

    expect(error.name).toBe('RequestThrottled');
  });
});

describe('the embedded SQS over the query protocol', () => {
  /** A form-encoded request as older CLIs send it, routed by the SigV4 signing name `sqs`. */
  async function query(endpoint: string, params: Record<string, string>): Promise<{ status: number; xml: string }> {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/20260302/${REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: new URLSearchParams({ Version: '2012-11-05', ...params }).toString(),
    });
    return { status: response.status, xml: await response.text() };
  }

  it('sends and receives a message with its attributes, in XML', async () => {
    const { endpoint, queueUrl } = await startSqs();

    const sent = await query(endpoint, {
      Action: 'SendMessage',
      QueueUrl: queueUrl,
      MessageBody: 'from an old CLI',
      'MessageAttribute.1.Name': 'ERROR_CODE',
      'MessageAttribute.1.Value.DataType': 'String',
      'MessageAttribute.1.Value.StringValue': 'ClosureEventInvalid',
    });
    const received = await query(endpoint, { Action: 'ReceiveMessage', QueueUrl: queueUrl, 'AttributeName.1': 'All', 'MessageAttributeName.1': 'All' });

    expect(sent.xml).toMatch(/^<SendMessageResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><SendMessageResult><MD5OfMessageBody>[0-9a-f]{32}<\/MD5OfMessageBody>/);
    expect(received.xml).toContain('<Body>from an old CLI</Body>');
    expect(received.xml).toContain('<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>');
    expect(received.xml).toContain('<MessageAttribute><Name>ERROR_CODE</Name><Value><StringValue>ClosureEventInvalid</StringValue><DataType>String</DataType></Value></MessageAttribute>');
  });

  it("answers an unknown queue with SQS's query error code", async () => {
    const { endpoint } = await startSqs();

    const { status, xml } = await query(endpoint, { Action: 'GetQueueUrl', QueueName: 'nowhere' });

    expect(status).toBe(400);
    expect(xml).toContain('<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist.</Message><Detail/></Error>');
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])('answers an action named %s as an unsupported operation, not as a method of every object', async (action) => {
    const { endpoint } = await startSqs();

    const { status, xml } = await query(endpoint, { Action: action });

    expect(status).toBe(400);
    expect(xml).toContain('<Code>AWS.SimpleQueueService.UnsupportedOperation</Code>');
  });
});
