import { ClockRetryStrategy } from './retry-strategy.ts';

/**
 * What every handler's SDK client is built with. A Lambda instance runs one invocation at a time,
 * so the SDK's 50 sockets are plenty on AWS (https); a host that runs thousands of invocations at
 * once in one process (the embedded AWS, plain http on loopback) needs more, or its calls queue.
 */
export function clientConfig(retries: { maxAttempts?: number } = {}) {
  return {
    retryStrategy: new ClockRetryStrategy(retries),
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 1024 } },
  };
}
