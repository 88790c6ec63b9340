import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfirmSubscriptionCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import type { FaultInjector } from '../../../embedded-aws/protocol.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedSns } from '../../../embedded-aws/sns/index.ts';

export const REGION = 'eu-west-1';
export const ACCOUNT = '111122223333';
export const TOPIC_NAME = 'erasure-notifications';
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:${TOPIC_NAME}`;

export interface SnsHarness {
  client: SNSClient;
  sns: EmbeddedSns;
  clock: VirtualClock;
  consoleLines: string[];
  logLines: string[];
}

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Subscriber {
  url: string;
  /** Notifications, in arrival order. */
  received: ReceivedRequest[];
  /** SubscriptionConfirmation messages, kept apart from notifications. */
  confirmations: ReceivedRequest[];
}

const cleanups: Array<() => Promise<void>> = [];

/** Closes every server, client and subscriber the current test started; call it in afterEach. */
export async function closeAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** One SNS behind the loopback server, called through the real SDK; virtual time runs 10,000 times faster. */
export async function startSns(options: { faults?: FaultInjector } = {}): Promise<SnsHarness> {
  const clock = new VirtualClock({ timeScale: 10_000 });
  const consoleLines: string[] = [];
  const logLines: string[] = [];
  let listening: string | undefined;
  const sns = new EmbeddedSns({
    clock,
    faults: options.faults,
    accountId: ACCOUNT,
    console: (line) => consoleLines.push(line),
    log: (line) => logLines.push(line),
    endpoint: () => listening,
  });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [], queryServices: [sns] });
  const endpoint = await server.listen();
  listening = endpoint;
  const client = new SNSClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'embedded-secret' },
    maxAttempts: 1,
  });
  cleanups.push(async () => {
    client.destroy();
    await sns.close();
    await server.close();
  });
  return { client, sns, clock, consoleLines, logLines };
}

/**
 * A tiny HTTP subscriber on loopback answering each notification with the status `answer` picks;
 * it accepts every SubscriptionConfirmation and keeps them apart.
 */
export async function startSubscriber(clock: VirtualClock, answer: (requestNumber: number) => number = () => 200): Promise<Subscriber> {
  const received: ReceivedRequest[] = [];
  const confirmations: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const arrived = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: clock.nowMs() };
      if (request.headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation') {
        confirmations.push(arrived);
        response.writeHead(200);
      } else {
        received.push(arrived);
        response.writeHead(answer(received.length));
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${port}/sns`, received, confirmations };
}

/** The Token of the last SubscriptionConfirmation the subscriber received. */
/** The SubscribeURL of the last SubscriptionConfirmation the subscriber received. */
export function lastSubscribeUrl(subscriber: Subscriber): string {
  const { SubscribeURL } = JSON.parse(subscriber.confirmations.at(-1)?.body ?? '{}') as { SubscribeURL?: string };
  if (!SubscribeURL) throw new Error('the subscriber received no SubscriptionConfirmation');
  return SubscribeURL;
}

export function lastToken(subscriber: Subscriber): string {
  const { Token } = JSON.parse(subscriber.confirmations.at(-1)?.body ?? '{}') as { Token?: string };
  if (!Token) throw new Error('the subscriber received no SubscriptionConfirmation');
  return Token;
}

/** Subscribes an http endpoint and confirms it with the token SNS posted to it, as a subscriber must. */
export async function subscribeHttp(harness: SnsHarness, subscriber: Subscriber, topicArn = TOPIC_ARN): Promise<string> {
  await harness.client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: subscriber.url }));
  await harness.sns.idle();
  const { SubscriptionArn } = await harness.client.send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: lastToken(subscriber) }));
  return SubscriptionArn as string;
}
