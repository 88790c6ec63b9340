import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { Activity } from '../../../embedded-aws/activity.ts';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig, ServerlessFunction } from '../../../embedded-aws/deployment/serverless-print.ts';
import { concurrentInvocationStore } from '../../../embedded-aws/lambda/invocation-store.ts';
import { EmbeddedLambda } from '../../../embedded-aws/lambda/embedded-lambda.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedSqs } from '../../../embedded-aws/sqs/index.ts';
import { scriptWorker } from './fixtures/sqs-worker.ts';

/**
 * A worker function with an `sqs` event, deployed from a serverless.yml-shaped configuration as the
 * embedded AWS deploys it, on a discrete clock: time moves only when a test advances it, and the
 * tests wait for the embedded Lambda's deliveries as runToCompletion does, by its activity.
 */
const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const START = new Date('2026-03-02T09:00:00.000Z');
const CREDENTIALS = { accessKeyId: 'AKIAEMBEDDEDAWS00000', secretAccessKey: 'x' };
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface Worker {
  client: SQSClient;
  clock: VirtualClock;
  lambda: EmbeddedLambda;
  sqs: EmbeddedSqs;
  queueUrl: string;
  queueArn: string;
  deadLetterQueueArn: string;
  logs: string[];
  /** Resolves once nothing has been at work for a few turns of the event loop. */
  quiet(): Promise<void>;
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/**
 * Deploys `paceKms`, a function with an `sqs` event on the queue WorkQueue (VisibilityTimeout 30,
 * a redrive policy to WorkDeadLetterQueue after 2 receives), and starts Lambda's polling.
 */
async function deployWorker(options: { fifo: boolean; event?: Record<string, unknown>; fn?: Partial<ServerlessFunction> }): Promise<Worker> {
  const fifo = options.fifo ? { FifoQueue: true, ContentBasedDeduplication: true } : {};
  const config: ServerlessConfig = {
    service: 'crypto-erasure',
    provider: { stage: 'test', region: REGION, timeout: 30 },
    functions: {
      paceKms: {
        handler: 'sqs-worker.handler',
        events: [{ sqs: { arn: { 'Fn::GetAtt': ['WorkQueue', 'Arn'] }, functionResponseType: 'ReportBatchItemFailures', ...options.event } }],
        ...options.fn,
      },
    },
    resources: {
      Resources: {
        WorkQueue: {
          Type: 'AWS::SQS::Queue',
          Properties: { ...fifo, VisibilityTimeout: 30, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['WorkDeadLetterQueue', 'Arn'] }, maxReceiveCount: 2 } },
        },
        WorkDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { ...fifo } },
      },
    },
  };
  const deployment = planDeployment(config, ACCOUNT);
  const activity = new Activity();
  const clock = new VirtualClock({ start: START, activity });
  const logs: string[] = [];
  let endpoint = '';
  const sqs = new EmbeddedSqs({ clock, log: (line) => logs.push(line), endpoint: () => endpoint });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [], httpJsonServices: [sqs], queryServices: [sqs], activity });
  endpoint = await server.listen();
  for (const queue of deployment.queues) sqs.deployQueue({ region: REGION, accountId: ACCOUNT }, queue.name, queue.attributes);
  const lambda = new EmbeddedLambda({
    projectRoot: FIXTURES,
    clock,
    functions: deployment.functions,
    deadLetters: sqs,
    invocations: await concurrentInvocationStore(),
    log: (line) => logs.push(line),
  });
  lambda.startEventSources(deployment.eventSourceMappings, sqs);
  const client = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  running.push(async () => {
    client.destroy();
    await lambda.close();
    sqs.close();
    await server.close();
  });
  const queue = (logicalId: string) => deployment.queues.find((candidate) => candidate.logicalId === logicalId)!;
  return {
    client,
    clock,
    lambda,
    sqs,
    queueUrl: `${endpoint}/${ACCOUNT}/${queue('WorkQueue').name}`,
    queueArn: queue('WorkQueue').arn,
    deadLetterQueueArn: queue('WorkDeadLetterQueue').arn,
    logs,
    quiet: async () => {
      let quietTurns = 0;
      while (quietTurns < 3) {
        await new Promise((resolve) => setImmediate(resolve));
        quietTurns = activity.busy ? 0 : quietTurns + 1;
      }
    },
  };
}

/** Sends the bodies in one SendMessageBatch, so that they reach the queue before Lambda polls it. */
async function sendBatch(worker: Worker, bodies: string[], groupOf: (body: string) => string | undefined = () => undefined) {
  const entries: SendMessageBatchRequestEntry[] = bodies.map((body, index) => ({ Id: `m${index}`, MessageBody: body, MessageGroupId: groupOf(body) }));
  const { Successful = [], Failed = [] } = await worker.client.send(new SendMessageBatchCommand({ QueueUrl: worker.queueUrl, Entries: entries }));
  if (Failed.length > 0) throw new Error(`SendMessageBatch failed: ${JSON.stringify(Failed)}`);
  return Successful;
}

async function queueCounts(worker: Worker): Promise<{ visible: string; inFlight: string }> {
  const { Attributes = {} } = await worker.client.send(
    new GetQueueAttributesCommand({ QueueUrl: worker.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Attributes.ApproximateNumberOfMessages ?? '', inFlight: Attributes.ApproximateNumberOfMessagesNotVisible ?? '' };
}

const bodiesOf = (event: SQSEvent) => event.Records.map((record) => record.body);

describe("an SQS event source on a FIFO queue", () => {
  it("invokes the function with a batch in the group's order, in Lambda's SQS event shape, and deletes it", async () => {
    const batches: SQSEvent[] = [];
    scriptWorker(async (event) => {
      batches.push(event);
    });
    const worker = await deployWorker({ fifo: true });
    const sent = await worker.client.send(
      new SendMessageCommand({
        QueueUrl: worker.queueUrl,
        MessageBody: 'schedule key-1',
        MessageGroupId: 'subject-1',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'ScheduleKeyDeletion' } },
      }),
    );
    await worker.quiet();
    await sendBatch(worker, ['schedule key-2', 'schedule key-3', 'schedule key-4'], () => 'subject-1');

    await worker.quiet();

    expect(batches.map(bodiesOf)).toEqual([['schedule key-1'], ['schedule key-2', 'schedule key-3', 'schedule key-4']]);
    expect(batches[0]?.Records[0]).toEqual<SQSRecord>({
      messageId: sent.MessageId ?? '',
      receiptHandle: expect.any(String) as string,
      body: 'schedule key-1',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(START.getTime()),
        SenderId: CREDENTIALS.accessKeyId,
        ApproximateFirstReceiveTimestamp: String(START.getTime()),
        SequenceNumber: sent.SequenceNumber,
        MessageGroupId: 'subject-1',
        MessageDeduplicationId: createHash('sha256').update('schedule key-1').digest('hex'),
      },
      messageAttributes: { kind: { stringValue: 'ScheduleKeyDeletion', stringListValues: [], binaryListValues: [], dataType: 'String' } },
      md5OfBody: createHash('md5').update('schedule key-1').digest('hex'),
      md5OfMessageAttributes: sent.MD5OfMessageAttributes,
      eventSource: 'aws:sqs',
      eventSourceARN: worker.queueArn,
      awsRegion: REGION,
    });
    expect(await queueCounts(worker)).toEqual({ visible: '0', inFlight: '0' });
  });

  it('holds a group behind a failing message until the redrive policy moves it to the dead-letter queue', async () => {
    const bodies: string[] = [];
    scriptWorker(async (event) => {
      bodies.push(...bodiesOf(event));
      if (event.Records.some((record) => record.body === 'poison')) throw new Error('KMS refused the call');
    });
    const worker = await deployWorker({ fifo: true, event: { batchSize: 1 } });
    await sendBatch(worker, ['poison', 'next'], () => 'subject-1');
    await worker.quiet();

    for (let visibilityTimeout = 0; visibilityTimeout < 2; visibilityTimeout++) {
      worker.clock.advance(30_000);
      await worker.quiet();
    }

    expect(bodies).toEqual(['poison', 'poison', 'next']);
    expect(worker.sqs.messages(worker.deadLetterQueueArn).map((message) => message.text)).toEqual(['poison']);
    expect(worker.logs).toContain(
      '[lambda] crypto-erasure-test-paceKms failed on a batch of 1 message(s) from crypto-erasure-test-WorkQueue.fifo: Error: KMS refused the call; it returns to the queue when its visibility timeout ends',
    );
  });

  it('runs one batch per message group at a time, in group order, and no more at once than the reserved concurrency', async () => {
    const active = new Set<string>();
    let mostAtOnce = 0;
    let sameGroupOverlapped = false;
    const byGroup = new Map<string, string[]>();
    scriptWorker(async (event) => {
      const group = event.Records[0]?.attributes.MessageGroupId ?? '';
      if (active.has(group)) sameGroupOverlapped = true;
      active.add(group);
      mostAtOnce = Math.max(mostAtOnce, active.size);
      byGroup.set(group, [...(byGroup.get(group) ?? []), ...bodiesOf(event)]);
      // The function's own (real) run time, during which other batches could start.
      await new Promise((resolve) => setTimeout(resolve, 2));
      active.delete(group);
    });
    const worker = await deployWorker({ fifo: true, event: { batchSize: 1 }, fn: { reservedConcurrency: 2 } });
    const bodies = ['a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'a3', 'b3', 'c3'];

    await sendBatch(worker, bodies, (body) => body.charAt(0));
    await worker.quiet();

    expect(mostAtOnce).toBe(2);
    expect(sameGroupOverlapped).toBe(false);
    expect(Object.fromEntries(byGroup)).toEqual({ a: ['a1', 'a2', 'a3'], b: ['b1', 'b2', 'b3'], c: ['c1', 'c2', 'c3'] });
  });
});

describe('an SQS event source on a standard queue', () => {
  it('returns only the messages batchItemFailures names, and delivers them again after the visibility timeout', async () => {
    const batches: string[][] = [];
    scriptWorker(async (event) => {
      batches.push(bodiesOf(event));
      const failed = batches.length === 1 ? event.Records.filter((record) => record.body.startsWith('fail')) : [];
      return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    const worker = await deployWorker({ fifo: false });
    await sendBatch(worker, ['ok-1', 'fail-2', 'ok-3']);
    await worker.quiet();
    const afterFirst = await queueCounts(worker);

    worker.clock.advance(30_000);
    await worker.quiet();

    expect(batches).toEqual([['ok-1', 'fail-2', 'ok-3'], ['fail-2']]);
    expect(afterFirst).toEqual({ visible: '0', inFlight: '1' });
    expect(await queueCounts(worker)).toEqual({ visible: '0', inFlight: '0' });
  });

  it('returns the whole batch when batchItemFailures names a message not in it', async () => {
    scriptWorker(async () => ({ batchItemFailures: [{ itemIdentifier: 'not-a-message-of-this-batch' }] }));
    const worker = await deployWorker({ fifo: false });

    await sendBatch(worker, ['one', 'two']);
    await worker.quiet();

    expect(await queueCounts(worker)).toEqual({ visible: '0', inFlight: '2' });
    expect(worker.logs.some((line) => line.includes('invalid batchItemFailures response'))).toBe(true);
  });

  it('never runs more invocations at once than the reserved concurrency, and still processes every message', async () => {
    let atOnce = 0;
    let mostAtOnce = 0;
    const processed: string[] = [];
    scriptWorker(async (event) => {
      atOnce++;
      mostAtOnce = Math.max(mostAtOnce, atOnce);
      await new Promise((resolve) => setTimeout(resolve, 2));
      processed.push(...bodiesOf(event));
      atOnce--;
    });
    const worker = await deployWorker({ fifo: false, event: { batchSize: 2 }, fn: { reservedConcurrency: 1 } });
    const bodies = Array.from({ length: 10 }, (_, index) => `call-${index}`);

    await sendBatch(worker, bodies);
    await worker.quiet();

    expect(mostAtOnce).toBe(1);
    expect(processed.sort()).toEqual([...bodies].sort());
    expect(await queueCounts(worker)).toEqual({ visible: '0', inFlight: '0' });
  });

  it('gathers a batch for the batching window on the virtual clock, and sends a full batch at once', async () => {
    const batches: string[][] = [];
    scriptWorker(async (event) => {
      batches.push(bodiesOf(event));
    });
    const worker = await deployWorker({ fifo: false, event: { batchSize: 12, maximumBatchingWindow: 5 } });

    await sendBatch(worker, ['a', 'b', 'c']);
    await worker.quiet();
    const beforeTheWindowEnds = batches.length;
    worker.clock.advance(5_000);
    await worker.quiet();
    await sendBatch(worker, Array.from({ length: 10 }, (_, index) => `d${index}`));
    await sendBatch(worker, ['e0', 'e1']);
    await worker.quiet();

    expect(beforeTheWindowEnds).toBe(0);
    expect(batches.map((batch) => batch.length)).toEqual([3, 12]);
  });

  it("gives each invocation its function's timeout on the virtual clock, however long the host takes", async () => {
    // Middy's early timeout reads getRemainingTimeInMillis: a context on the host's clock timed the
    // key erasure worker out while a busy simulation spent wall-clock seconds in one virtual instant.
    const remaining: number[] = [];
    scriptWorker(async (_event, context) => {
      remaining.push(context.getRemainingTimeInMillis());
      await new Promise((resolve) => setTimeout(resolve, 50));
      remaining.push(context.getRemainingTimeInMillis());
    });
    const worker = await deployWorker({ fifo: false, fn: { timeout: 20 } });
    await sendBatch(worker, ['slow on the host']);
    await worker.quiet();

    expect(remaining).toEqual([20_000, 20_000]);
  });

  it('stops polling when Lambda closes', async () => {
    const batches: string[][] = [];
    scriptWorker(async (event) => {
      batches.push(bodiesOf(event));
    });
    const worker = await deployWorker({ fifo: false });

    await worker.lambda.close();
    await sendBatch(worker, ['after close']);
    await worker.quiet();

    expect(batches).toEqual([]);
    expect(await queueCounts(worker)).toEqual({ visible: '1', inFlight: '0' });
  });
});
