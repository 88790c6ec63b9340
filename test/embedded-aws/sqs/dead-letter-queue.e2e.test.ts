import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_CREDENTIALS, startEmbeddedAws, type EmbeddedAws } from '../../../embedded-aws/embedded-aws.ts';
import { sampleClosure } from '../../support/embedded.ts';

const run = promisify(execFile);

/**
 * serverless.yml's closure dead-letter queue on the embedded AWS, read as an operator reads it: over
 * SQS, with the SDK and with the AWS CLI. A malformed closure lands there; ReceiveMessage shows it
 * and DeleteMessage takes it away.
 */
let aws: EmbeddedAws;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  aws = await startEmbeddedAws({ timeScale: 1, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  sqs = new SQSClient(aws.clientConfig);
  // AWS's form of the URL, as CloudFormation's Ref gives it.
  queueUrl = aws.deployment.queues.find((queue) => queue.logicalId === 'ClosureDeadLetterQueue')?.url ?? '';
}, 60_000);
afterAll(async () => aws?.close());

/** Puts a closure whose closedAt is not a date on the closure bus; returns its event id. */
async function publishMalformedClosure(subjectId: string): Promise<string> {
  const detail = { ...sampleClosure(subjectId).detail, closedAt: 'not a date' };
  const put = await new EventBridgeClient(aws.clientConfig).send(
    new PutEventsCommand({ Entries: [{ EventBusName: aws.nameOf('ClosureEventBus'), Source: 'com.example.accounts', DetailType: 'AccountClosed', Detail: JSON.stringify(detail) }] }),
  );
  await aws.idle();
  return put.Entries?.[0]?.EventId ?? '';
}

async function visibleMessages(): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Attributes?.ApproximateNumberOfMessages ?? '';
}

describe('the closure dead-letter queue', () => {
  it('holds a malformed closure, readable with ReceiveMessage and gone after DeleteMessage', async () => {
    const eventId = await publishMalformedClosure('dlq-read-and-delete');
    expect(await visibleMessages()).toBe('1');

    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    const [letter] = Messages;
    expect(letter?.Body).toContain(eventId);
    expect(letter?.Body).toContain('ClosureEventInvalid');
    expect(letter?.Attributes?.ApproximateReceiveCount).toBe('1');

    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: letter?.ReceiptHandle }));

    expect(await visibleMessages()).toBe('0');
    expect(aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue'))).toEqual([]);
  });

  const awsCli = (process.env.PATH ?? '').split(':').some((directory) => statSync(join(directory, 'aws'), { throwIfNoEntry: false })?.isFile());
  // CI machines may not have the AWS CLI; where it is installed, it must read the queue unchanged.
  it.skipIf(!awsCli)(`is read by \`aws sqs receive-message --endpoint-url\`${awsCli ? '' : ' (skipped: the AWS CLI is not installed on this machine)'}`, async () => {
    const eventId = await publishMalformedClosure('dlq-read-by-cli');

    const { stdout } = await run(
      'aws',
      ['sqs', 'receive-message', '--endpoint-url', aws.endpoint, '--queue-url', queueUrl, '--message-attribute-names', 'All', '--attribute-names', 'All', '--output', 'json'],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: EMBEDDED_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: EMBEDDED_CREDENTIALS.secretAccessKey,
          AWS_DEFAULT_REGION: aws.deployment.region,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      },
    );

    const { Messages } = JSON.parse(stdout) as { Messages: { Body: string; MessageAttributes?: Record<string, unknown> }[] };
    expect(Messages).toHaveLength(1);
    expect(Messages[0]?.Body).toContain(eventId);
  }, 60_000);
});
