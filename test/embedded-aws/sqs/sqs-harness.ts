import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import type { FaultInjector } from '../../../embedded-aws/protocol.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedSqs } from '../../../embedded-aws/sqs/index.ts';

export const REGION = 'eu-west-1';
export const ACCOUNT = '111122223333';
export const START = new Date('2026-03-02T09:00:00.000Z');
export const CREDENTIALS = { accessKeyId: 'AKIAEMBEDDEDAWS00000', secretAccessKey: 'x' };

export interface SqsHarness {
  client: SQSClient;
  sqs: EmbeddedSqs;
  clock: VirtualClock;
  endpoint: string;
  queueUrl: string;
}

const running: Array<() => Promise<void>> = [];

/** Stops every SQS the current test started; call it in afterEach. */
export async function stopAll(): Promise<void> {
  for (const stop of running.splice(0)) await stop();
}

/**
 * One SQS behind the loopback server, with one queue, called through the real SDK. The clock is
 * discrete (it moves only when a test advances it) unless `timeScale` makes it run on its own.
 */
export async function startSqs(options: { queueName: string; queueAttributes?: Record<string, string>; faults?: FaultInjector; timeScale?: number }): Promise<SqsHarness> {
  const clock = new VirtualClock({ start: START, timeScale: options.timeScale });
  let endpoint = '';
  const sqs = new EmbeddedSqs({ clock, faults: options.faults, log: () => undefined, endpoint: () => endpoint });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [], httpJsonServices: [sqs], queryServices: [sqs] });
  endpoint = await server.listen();
  // Each call reaches the service once, so an injected fault shows instead of being retried away.
  const client = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  running.push(async () => {
    client.destroy();
    sqs.close();
    await server.close();
  });
  const created = await client.send(new CreateQueueCommand({ QueueName: options.queueName, Attributes: options.queueAttributes }));
  return { client, sqs, clock, endpoint, queueUrl: created.QueueUrl ?? '' };
}

/** The error a call fails with; fails the test when the call succeeds. */
export async function failure(promise: Promise<unknown>): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number } }> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: Error) => error,
  );
}
