import { CreateQueueCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { InProcessTransport } from '../../../embedded-aws/lambda/in-process-transport.ts';
import type { MeteredRequest } from '../../../embedded-aws/request-meter.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedSqs } from '../../../embedded-aws/sqs/index.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const CREDENTIALS = { accessKeyId: 'AKIAEMBEDDEDAWS00000', secretAccessKey: 'x' };

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/** One SQS behind the loopback server, and two clients: one over the socket, one handing its requests over in-process. */
async function startSqs() {
  const clock = new VirtualClock({ start: new Date('2026-03-02T09:00:00.000Z'), timeScale: 1 });
  let endpoint = '';
  const metered: MeteredRequest[] = [];
  const sqs = new EmbeddedSqs({ clock, log: () => undefined, endpoint: () => endpoint });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [], httpJsonServices: [sqs], queryServices: [sqs], meter: (request) => metered.push(request) });
  endpoint = await server.listen();
  let open = true;
  const handedOver: string[] = [];
  const dispatch = (request: Parameters<EmbeddedAwsServer['dispatch']>[0]) => {
    handedOver.push(String(request.headers['x-amz-target']));
    return server.dispatch(request);
  };
  const transport = new InProcessTransport({ url: endpoint, dispatch, get open() { return open; } }, {});
  const overHttp = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  const inProcess = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1, requestHandler: transport });
  running.push(async () => {
    overHttp.destroy();
    inProcess.destroy();
    sqs.close();
    await server.close();
  });
  return { overHttp, inProcess, metered, handedOver, close: () => (open = false) };
}

function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => new Error('expected the call to fail'),
    (error: Error) => error,
  );
}

describe('the in-process transport of the functions SDK clients', () => {
  it('gets the answers a client gets over the socket, and the meter counts its requests alike', async () => {
    const { overHttp, inProcess, metered, handedOver } = await startSqs();
    const { QueueUrl } = await overHttp.send(new CreateQueueCommand({ QueueName: 'erasure-orders' }));

    await inProcess.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"subject":"s-1"}' }));
    const received = await overHttp.send(new ReceiveMessageCommand({ QueueUrl }));
    const missing = await failure(inProcess.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })));
    const missingOverHttp = await failure(overHttp.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })));

    expect(handedOver).toEqual(['AmazonSQS.SendMessage', 'AmazonSQS.GetQueueUrl']);
    expect(received.Messages?.map((message) => message.Body)).toEqual(['{"subject":"s-1"}']);
    expect(missing).toMatchObject({ name: missingOverHttp.name, message: missingOverHttp.message });
    expect(metered.map(({ service, operation, errorCode }) => [service, operation, errorCode])).toEqual([
      ['sqs', 'CreateQueue', undefined],
      ['sqs', 'SendMessage', undefined],
      ['sqs', 'ReceiveMessage', undefined],
      ['sqs', 'GetQueueUrl', 'QueueDoesNotExist'],
      ['sqs', 'GetQueueUrl', 'QueueDoesNotExist'],
    ]);
  });

  it('sends a request over the socket once its embedded AWS is closed to it', async () => {
    const { overHttp, inProcess, metered, handedOver, close } = await startSqs();
    const { QueueUrl } = await overHttp.send(new CreateQueueCommand({ QueueName: 'erasure-orders' }));
    close();

    await inProcess.send(new SendMessageCommand({ QueueUrl, MessageBody: 'over the socket' }));

    expect(handedOver).toEqual([]);
    expect(metered.map(({ operation }) => operation)).toEqual(['CreateQueue', 'SendMessage']);
  });
});
