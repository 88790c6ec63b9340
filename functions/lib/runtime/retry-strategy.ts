import { sleep } from './clock.ts';

/**
 * The AWS SDK's standard retry mode (3 attempts; exponential backoff with full jitter from 100 ms,
 * 500 ms for throttling, capped at 20 s; retries on throttling, transient and server errors), with
 * its backoff slept through the handlers' clock instead of a bare setTimeout. On Lambda that is the
 * same thing; on the embedded AWS a backoff is virtual time, so a throttled call waits there as it
 * would on AWS instead of holding the discrete clock still. Nothing in the SDK takes a sleep
 * function: its RetryStrategyV2 contract lets a strategy "delay internally and return a token with
 * 0 delay", which is what this does. It keeps no retry quota: a call is retried up to its attempts.
 */
const MAX_ATTEMPTS = 3;
const BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 20_000;

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

interface RetryErrorInfo {
  errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR';
  retryAfterHint?: Date;
}

export class ClockRetryStrategy {
  readonly mode = 'standard';
  private readonly maxAttempts: number;
  private readonly random: () => number;

  constructor(options: { maxAttempts?: number; random?: () => number } = {}) {
    this.maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
    this.random = options.random ?? Math.random;
  }

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return token(0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, error: RetryErrorInfo): Promise<RetryToken> {
    const attempts = previous.getRetryCount() + 1;
    if (error.errorType === 'CLIENT_ERROR' || attempts >= this.maxAttempts) throw new Error('No retry token available');
    const base = error.errorType === 'THROTTLING' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
    await sleep(Math.floor(this.random() * Math.min(MAX_DELAY_MS, base * 2 ** previous.getRetryCount())));
    return token(attempts);
  }

  recordSuccess(_token: RetryToken): void {}
}

function token(count: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => 0 };
}
