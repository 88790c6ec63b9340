import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT, CREDENTIALS, failure, REGION, startSqs, stopAll } from './sqs-harness.ts';

/**
 * FIFO queues of the embedded SQS over the wire, as the SDK and older CLIs reach them: names and
 * attributes, ordering within a message group, a group held while one of its messages is in flight,
 * the five-minute deduplication interval, and SQS's errors for what a FIFO queue refuses.
 */

/** One SQS with a FIFO queue, on a discrete clock that moves only when a test advances it. */
const startFifoQueue = (attributes: Record<string, string> = {}) => startSqs({ queueName: 'kms-calls.fifo', queueAttributes: { FifoQueue: 'true', ...attributes } });
afterEach(stopAll);

async function receive(client: SQSClient, queueUrl: string, max = 10, visibilityTimeout?: number): Promise<Message[]> {
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: max, VisibilityTimeout: visibilityTimeout, MessageSystemAttributeNames: ['All'] }),
  );
  return Messages;
}

async function sendInGroup(client: SQSClient, queueUrl: string, groupId: string, body: string) {
  return client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: groupId, MessageDeduplicationId: body }));
}

describe('creating FIFO queues', () => {
  it("creates a FIFO queue with SQS's default FIFO attributes", async () => {
    const { client, queueUrl } = await startFifoQueue();

    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));

    expect(queueUrl).toMatch(/\/111122223333\/kms-calls\.fifo$/);
    expect(Attributes).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'false', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' });
  });

  it('refuses a .fifo name without FifoQueue, and FifoQueue without the .fifo name', async () => {
    const { client } = await startFifoQueue();

    const unmarked = await failure(client.send(new CreateQueueCommand({ QueueName: 'unmarked.fifo' })));
    const unnamed = await failure(client.send(new CreateQueueCommand({ QueueName: 'unnamed', Attributes: { FifoQueue: 'true' } })));

    expect([unmarked.name, unmarked.message]).toEqual(['InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length']);
    expect([unnamed.name, unnamed.message]).toEqual([
      'InvalidParameterValue',
      'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.',
    ]);
  });

  it('refuses FIFO attributes on a standard queue, and changing a queue to standard', async () => {
    const { client, queueUrl } = await startFifoQueue();

    const standard = await failure(client.send(new CreateQueueCommand({ QueueName: 'standard', Attributes: { ContentBasedDeduplication: 'true' } })));
    const retyped = await failure(client.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { FifoQueue: 'false' } })));

    expect([standard.name, standard.message]).toEqual(['InvalidAttributeName', 'Unknown Attribute ContentBasedDeduplication.']);
    expect([retyped.name, retyped.message]).toEqual(['InvalidAttributeValue', 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.']);
  });
});

describe('sending to a FIFO queue', () => {
  it("requires a message group, with SQS's MissingParameter", async () => {
    const { client, queueUrl } = await startFifoQueue();

    const error = await failure(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', MessageDeduplicationId: 'x' })));

    expect([error.name, error.message]).toEqual(['MissingParameter', 'The request must contain the parameter MessageGroupId.']);
  });

  it('requires a deduplication ID unless the queue deduplicates by content', async () => {
    const { client, queueUrl } = await startFifoQueue();

    const error = await failure(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', MessageGroupId: 'g' })));

    expect([error.name, error.message]).toEqual(['InvalidParameterValue', 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly']);
  });

  it('refuses a per-message delay but takes DelaySeconds 0', async () => {
    const { client, queueUrl } = await startFifoQueue();

    const error = await failure(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'x', DelaySeconds: 5 })));
    const sent = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'y', MessageGroupId: 'g', MessageDeduplicationId: 'y', DelaySeconds: 0 }));

    expect([error.name, error.message]).toEqual(['InvalidParameterValue', 'Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.']);
    expect(sent.MessageId).toBeDefined();
  });

  it('gives each message an increasing sequence number', async () => {
    const { client, queueUrl } = await startFifoQueue();

    const first = await sendInGroup(client, queueUrl, 'subject-1', 'a');
    const second = await sendInGroup(client, queueUrl, 'subject-2', 'b');

    expect(first.SequenceNumber).toMatch(/^\d{20}$/);
    expect(BigInt(second.SequenceNumber ?? '0')).toBeGreaterThan(BigInt(first.SequenceNumber ?? '0'));
  });

  it('fails a whole SendMessageBatch when an entry has no message group', async () => {
    const { client, queueUrl } = await startFifoQueue();

    const error = await failure(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'grouped', MessageBody: 'a', MessageGroupId: 'g', MessageDeduplicationId: 'a' },
            { Id: 'ungrouped', MessageBody: 'b', MessageDeduplicationId: 'b' },
          ],
        }),
      ),
    );

    expect([error.name, error.message]).toEqual(['InvalidParameterValue', 'The request must contain the parameter MessageGroupId.']);
    expect(await receive(client, queueUrl)).toEqual([]);
  });
});

describe('receiving from a FIFO queue', () => {
  it('returns a group in the order it was sent, as many of one group as it can before the next', async () => {
    const { client, queueUrl } = await startFifoQueue();
    for (const [group, body] of [['A', 'a1'], ['B', 'b1'], ['A', 'a2'], ['B', 'b2'], ['A', 'a3']] as const) await sendInGroup(client, queueUrl, group, body);

    const messages = await receive(client, queueUrl);

    expect(messages.map((message) => message.Body)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(messages[0]?.Attributes).toMatchObject({ MessageGroupId: 'A', MessageDeduplicationId: 'a1', SequenceNumber: expect.stringMatching(/^\d+$/), ApproximateReceiveCount: '1' });
  });

  it('gives no message of a group while one of its messages is in flight', async () => {
    const { client, queueUrl } = await startFifoQueue();
    for (const [group, body] of [['A', 'a1'], ['A', 'a2'], ['B', 'b1']] as const) await sendInGroup(client, queueUrl, group, body);
    const [a1] = await receive(client, queueUrl, 1);

    const whileInFlight = await receive(client, queueUrl);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: a1?.ReceiptHandle }));
    await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: whileInFlight.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle })) }));
    const afterDelete = await receive(client, queueUrl);

    expect(a1?.Body).toBe('a1');
    expect(whileInFlight.map((message) => message.Body)).toEqual(['b1']);
    expect(afterDelete.map((message) => message.Body)).toEqual(['a2']);
  });

  it('gives a message back first, and the rest of its group after it, once its visibility timeout ends', async () => {
    const { client, clock, queueUrl } = await startFifoQueue();
    for (const body of ['a1', 'a2']) await sendInGroup(client, queueUrl, 'A', body);
    await receive(client, queueUrl, 1, 30);

    clock.advance(29_999);
    const stillHidden = await receive(client, queueUrl);
    clock.advance(1);
    const again = await receive(client, queueUrl);

    expect(stillHidden).toEqual([]);
    expect(again.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([
      ['a1', '2'],
      ['a2', '1'],
    ]);
  });

  it('holds the group while any message of a batch is in flight, even one made visible again', async () => {
    const { client, queueUrl } = await startFifoQueue();
    for (const body of ['a1', 'a2', 'a3']) await sendInGroup(client, queueUrl, 'A', body);
    const [a1, a2] = await receive(client, queueUrl, 2, 60);

    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: a1?.ReceiptHandle, VisibilityTimeout: 0 }));
    const whileA2InFlight = await receive(client, queueUrl);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: a2?.ReceiptHandle }));
    const afterA2 = await receive(client, queueUrl);

    expect(whileA2InFlight).toEqual([]);
    expect(afterA2.map((message) => message.Body)).toEqual(['a1', 'a3']);
  });

  it('refuses to delete with a receipt handle whose visibility timeout has ended', async () => {
    const { client, clock, queueUrl } = await startFifoQueue();
    await sendInGroup(client, queueUrl, 'A', 'late');
    const [message] = await receive(client, queueUrl, 1, 10);
    clock.advance(10_000);

    const error = await failure(client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle })));

    expect(error.name).toBe('InvalidParameterValue');
    expect(error.message).toBe(`Value ${message?.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`);
  });

  it("moves a message received maxReceiveCount times to the dead-letter queue, and the group goes on", async () => {
    const { client, clock, queueUrl } = await startFifoQueue();
    const deadLetters = await client.send(new CreateQueueCommand({ QueueName: 'kms-calls-dlq.fifo', Attributes: { FifoQueue: 'true' } }));
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetters.QueueUrl, AttributeNames: ['QueueArn'] }));
    await client.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 2 }) } }));
    for (const body of ['poison', 'next']) await sendInGroup(client, queueUrl, 'A', body);

    const receives: string[][] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      receives.push((await receive(client, queueUrl, 1, 30)).map((message) => message.Body ?? ''));
      clock.advance(30_000);
    }
    const [letter] = await receive(client, deadLetters.QueueUrl ?? '');

    expect(receives).toEqual([['poison'], ['poison'], ['next']]);
    expect(letter?.Body).toBe('poison');
    expect(letter?.Attributes).toMatchObject({ DeadLetterQueueSourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:kms-calls.fifo`, MessageGroupId: 'A' });
  });
});

describe('deduplication in a FIFO queue', () => {
  it('accepts a duplicate within five minutes with the first send’s answer, and delivers it once', async () => {
    const { client, queueUrl } = await startFifoQueue();
    const first = await sendInGroup(client, queueUrl, 'A', 'schedule:key-1');
    const [received] = await receive(client, queueUrl);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: received?.ReceiptHandle }));

    const duplicate = await sendInGroup(client, queueUrl, 'A', 'schedule:key-1');

    expect(duplicate.MessageId).toBe(first.MessageId);
    expect(duplicate.SequenceNumber).toBe(first.SequenceNumber);
    expect(await receive(client, queueUrl)).toEqual([]);
  });

  it('takes the same deduplication ID as a new message once five minutes have passed on the virtual clock', async () => {
    const { client, clock, queueUrl } = await startFifoQueue();
    const first = await sendInGroup(client, queueUrl, 'A', 'schedule:key-1');

    clock.advance(4 * 60_000 + 59_999);
    const within = await sendInGroup(client, queueUrl, 'A', 'schedule:key-1');
    clock.advance(1);
    const after = await sendInGroup(client, queueUrl, 'A', 'schedule:key-1');

    expect(within.MessageId).toBe(first.MessageId);
    expect(after.MessageId).not.toBe(first.MessageId);
    expect((await receive(client, queueUrl)).map((message) => message.MessageId)).toEqual([first.MessageId, after.MessageId]);
  });

  it('deduplicates by the body’s SHA-256 under ContentBasedDeduplication', async () => {
    const { client, queueUrl } = await startFifoQueue({ ContentBasedDeduplication: 'true' });

    const first = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'same body', MessageGroupId: 'A' }));
    const second = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'same body', MessageGroupId: 'B' }));
    const [message] = await receive(client, queueUrl);

    expect(second.MessageId).toBe(first.MessageId);
    expect(message?.Attributes?.MessageDeduplicationId).toBe(createHash('sha256').update('same body').digest('hex'));
  });

  it('deduplicates within a message group only, under DeduplicationScope messageGroup', async () => {
    const { client, queueUrl } = await startFifoQueue({ DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });

    const inA = await sendInGroup(client, queueUrl, 'A', 'same-id');
    const inB = await sendInGroup(client, queueUrl, 'B', 'same-id');

    expect(inB.MessageId).not.toBe(inA.MessageId);
    expect(await receive(client, queueUrl)).toHaveLength(2);
  });

  it('deduplicates entries of SendMessageBatch and keeps their order', async () => {
    const { client, queueUrl } = await startFifoQueue();

    const { Successful = [], Failed = [] } = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['first', 'second', 'first'].map((body, index) => ({ Id: `entry-${index}`, MessageBody: body, MessageGroupId: 'A', MessageDeduplicationId: body })),
      }),
    );

    expect(Failed).toEqual([]);
    expect(Successful.map((entry) => entry.Id)).toEqual(['entry-0', 'entry-1', 'entry-2']);
    expect(Successful[2]?.MessageId).toBe(Successful[0]?.MessageId);
    expect((await receive(client, queueUrl)).map((message) => message.Body)).toEqual(['first', 'second']);
  });
});

describe('FIFO queues over the query protocol', () => {
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

  it('sends with a message group and answers with the sequence number, in XML', async () => {
    const { endpoint, queueUrl } = await startFifoQueue();

    const { xml } = await query(endpoint, { Action: 'SendMessage', QueueUrl: queueUrl, MessageBody: 'from an old CLI', MessageGroupId: 'A', MessageDeduplicationId: 'd-1' });
    const received = await query(endpoint, { Action: 'ReceiveMessage', QueueUrl: queueUrl, 'AttributeName.1': 'All' });

    expect(xml).toMatch(/<SendMessageResult><MD5OfMessageBody>[0-9a-f]{32}<\/MD5OfMessageBody><MessageId>[^<]+<\/MessageId><SequenceNumber>\d+<\/SequenceNumber><\/SendMessageResult>/);
    expect(received.xml).toContain('<Attribute><Name>MessageGroupId</Name><Value>A</Value></Attribute>');
  });

  it('sends a batch, with a result entry per message and an error entry per refused one', async () => {
    const { endpoint, queueUrl } = await startFifoQueue();

    const { status, xml } = await query(endpoint, {
      Action: 'SendMessageBatch',
      QueueUrl: queueUrl,
      'SendMessageBatchRequestEntry.1.Id': 'one',
      'SendMessageBatchRequestEntry.1.MessageBody': 'first',
      'SendMessageBatchRequestEntry.1.MessageGroupId': 'A',
      'SendMessageBatchRequestEntry.1.MessageDeduplicationId': 'first',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Name': 'kind',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType': 'String',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue': 'schedule',
      'SendMessageBatchRequestEntry.2.Id': 'two',
      'SendMessageBatchRequestEntry.2.MessageBody': 'second',
      'SendMessageBatchRequestEntry.2.MessageGroupId': 'A',
      'SendMessageBatchRequestEntry.2.MessageDeduplicationId': 'second',
      'SendMessageBatchRequestEntry.2.DelaySeconds': '10',
    });

    expect(status).toBe(200);
    expect(xml).toMatch(/<SendMessageBatchResult><SendMessageBatchResultEntry><Id>one<\/Id><MD5OfMessageBody>[0-9a-f]{32}<\/MD5OfMessageBody><MD5OfMessageAttributes>[0-9a-f]{32}<\/MD5OfMessageAttributes>/);
    expect(xml).toContain(
      '<BatchResultErrorEntry><Id>two</Id><SenderFault>true</SenderFault><Code>InvalidParameterValue</Code><Message>Value 10 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.</Message></BatchResultErrorEntry>',
    );
  });

  it("answers a message without a group with SQS's MissingParameter, in XML", async () => {
    const { endpoint, queueUrl } = await startFifoQueue();

    const { status, xml } = await query(endpoint, { Action: 'SendMessage', QueueUrl: queueUrl, MessageBody: 'x', MessageDeduplicationId: 'x' });

    expect(status).toBe(400);
    expect(xml).toContain('<Code>MissingParameter</Code><Message>The request must contain the parameter MessageGroupId.</Message>');
  });
});
