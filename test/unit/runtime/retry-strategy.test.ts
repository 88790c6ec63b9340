import { Readable } from 'node:stream';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useTimeSource } from '../../../functions/lib/runtime/clock.ts';
import { ClockRetryStrategy } from '../../../functions/lib/runtime/retry-strategy.ts';

// What the strategy sleeps, on a clock where sleeping takes no real time.
let slept: number[];
let restoreTime: () => void;
beforeEach(() => {
  slept = [];
  restoreTime = useTimeSource({
    now: () => new Date('2026-11-20T10:00:00Z'),
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
});
afterEach(() => restoreTime());

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';

/** A KMS endpoint answering with `statuses` in turn (JSON 1.1, as KMS does), counting the requests. */
function kmsAnswering(...statuses: number[]) {
  const served = { requests: 0 };
  const handle = async () => {
    const status = statuses[Math.min(served.requests, statuses.length - 1)] ?? 200;
    served.requests++;
    const body =
      status === 200
        ? { KeyMetadata: { KeyId: '11111111-2222-3333-4444-555555555555', Arn: KEY_ARN, KeyState: 'Enabled' } }
        : status === 400
          ? { __type: 'ThrottlingException', message: 'Rate exceeded' }
          : { __type: 'KMSInternalException', message: 'An internal error occurred' };
    return {
      response: {
        statusCode: status,
        reason: undefined,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `r-${served.requests}` },
        body: Readable.from([Buffer.from(JSON.stringify(body))]),
      },
    };
  };
  return { served, requestHandler: { handle, updateHttpClientConfig: () => {}, httpHandlerConfigs: () => ({}) } };
}

function kmsClient(endpoint: ReturnType<typeof kmsAnswering>, strategy: ClockRetryStrategy): KMSClient {
  return new KMSClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIATESTTEST', secretAccessKey: 'test-secret' },
    retryStrategy: strategy,
    requestHandler: endpoint.requestHandler as never,
  });
}

describe('ClockRetryStrategy', () => {
  it('retries a 5xx through the handlers clock, backing off exponentially', async () => {
    const endpoint = kmsAnswering(500, 500, 200);
    const kms = kmsClient(endpoint, new ClockRetryStrategy({ random: () => 0.999 }));

    const response = await kms.send(new DescribeKeyCommand({ KeyId: KEY_ARN }));

    expect(response.KeyMetadata?.Arn).toBe(KEY_ARN);
    expect(endpoint.served.requests).toBe(3);
    // Full jitter below 100 ms, then below 200 ms.
    expect(slept).toEqual([99, 199]);
  });

  it('backs off from 500 ms on throttling', async () => {
    const endpoint = kmsAnswering(400, 200);
    const kms = kmsClient(endpoint, new ClockRetryStrategy({ random: () => 0.5 }));

    await kms.send(new DescribeKeyCommand({ KeyId: KEY_ARN }));

    expect(slept).toEqual([250]);
  });

  it('gives up after its attempts, with the last error', async () => {
    const endpoint = kmsAnswering(500);
    const kms = kmsClient(endpoint, new ClockRetryStrategy({ maxAttempts: 3 }));

    await expect(kms.send(new DescribeKeyCommand({ KeyId: KEY_ARN }))).rejects.toMatchObject({ name: 'KMSInternalException' });
    expect(endpoint.served.requests).toBe(3);
    expect(slept).toHaveLength(2);
  });

  it('makes a call once with one attempt, so the caller sees every throttle', async () => {
    const endpoint = kmsAnswering(400, 200);
    const kms = kmsClient(endpoint, new ClockRetryStrategy({ maxAttempts: 1 }));

    await expect(kms.send(new DescribeKeyCommand({ KeyId: KEY_ARN }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(endpoint.served.requests).toBe(1);
    expect(slept).toEqual([]);
  });

  it('never retries a client error', async () => {
    const strategy = new ClockRetryStrategy();
    const first = await strategy.acquireInitialRetryToken('kms');

    await expect(strategy.refreshRetryTokenForRetry(first, { errorType: 'CLIENT_ERROR' })).rejects.toThrow();
    expect(slept).toEqual([]);
  });

  it('caps a backoff at 20 seconds', async () => {
    const strategy = new ClockRetryStrategy({ maxAttempts: 20, random: () => 0.999_999 });
    let token = await strategy.acquireInitialRetryToken('kms');

    for (let retry = 0; retry < 12; retry++) token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });

    expect(Math.max(...slept)).toBeLessThan(20_000);
    expect(slept.at(-1)).toBe(19_999);
    expect(token.getRetryDelay()).toBe(0);
  });
});
