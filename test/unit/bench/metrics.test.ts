import { describe, expect, it } from 'vitest';
import { dollarsOf, LIST_PRICES, type BilledUsage } from '../../../bench/list-prices.ts';
import { inversions, outOfOrder, percentile, utilization } from '../../../bench/metrics.ts';

describe('utilization', () => {
  it('is 1 for keys disabled exactly at the quota', () => {
    // 11 keys, one every 200 ms: 10 intervals over 2 seconds, 5 per second.
    const successAtMs = Array.from({ length: 11 }, (_, index) => 1_000 + index * 200);
    expect(utilization(successAtMs, 5)).toBeCloseTo(1, 10);
  });

  it('is the share of the quota used when keys are disabled more slowly', () => {
    const successAtMs = [0, 1_000, 2_000, 3_000, 4_000];
    expect(utilization(successAtMs, 5)).toBeCloseTo(0.2, 10);
  });

  it('does not depend on the order the successes are listed in', () => {
    expect(utilization([4_000, 0, 2_000], 1)).toBeCloseTo(0.5, 10);
  });

  it('has no value without a span to divide by', () => {
    expect(utilization([], 5)).toBeNull();
    expect(utilization([7_000], 5)).toBeNull();
    expect(utilization([7_000, 7_000], 5)).toBeNull();
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 99)).toBe(50);
    expect(percentile(values, 30)).toBe(20);
  });

  it('reads values in any order', () => {
    expect(percentile([9, 1, 5], 50)).toBe(5);
  });

  it('has no value for no values', () => {
    expect(percentile([], 50)).toBeNull();
  });
});

describe('inversions', () => {
  it('counts no pair out of order when keys are disabled in arrival order', () => {
    expect(inversions([1, 2, 3, 4])).toBe(0);
    expect(outOfOrder([1, 2, 3, 4])).toBe(0);
  });

  it('counts every pair out of order when keys are disabled in reverse', () => {
    expect(inversions([4, 3, 2, 1])).toBe(6);
    expect(outOfOrder([4, 3, 2, 1])).toBe(1);
  });

  it('counts each earlier arrival disabled strictly later', () => {
    // (3,1), (3,2), (5,4)
    expect(inversions([3, 1, 2, 5, 4])).toBe(3);
    expect(outOfOrder([3, 1, 2, 5, 4])).toBeCloseTo(3 / 10, 10);
  });

  it('takes keys disabled at the same instant as in order', () => {
    expect(inversions([2, 2, 2, 1])).toBe(3);
    expect(inversions([1, 1, 1])).toBe(0);
  });

  it('agrees with counting every pair on a larger sequence', () => {
    const values = Array.from({ length: 300 }, (_, index) => (index * 7919) % 101);
    let pairs = 0;
    for (let i = 0; i < values.length; i++) for (let j = i + 1; j < values.length; j++) if (values[i]! > values[j]!) pairs++;
    expect(inversions(values)).toBe(pairs);
  });

  it('is no share of nothing for fewer than two keys', () => {
    expect(outOfOrder([])).toBe(0);
    expect(outOfOrder([5])).toBe(0);
  });
});

describe('dollars at list price', () => {
  const none: BilledUsage = {
    transitions: 0,
    lambdaInvocations: 0,
    lambdaGbSeconds: 0,
    kmsRequests: 0,
    snsPublishes: 0,
    dynamodbWriteUnits: 0,
    dynamodbReadUnits: 0,
    eventBridgeEntries: 0,
    sqsRequests: 0,
  };

  it('prices each service by its own unit', () => {
    const { byService } = dollarsOf(
      { ...none, transitions: 1_000, kmsRequests: 10_000, snsPublishes: 1_000_000, dynamodbWriteUnits: 1_000_000, dynamodbReadUnits: 1_000_000, eventBridgeEntries: 1_000_000, sqsRequests: 1_000_000 },
      'arm64',
    );
    expect(byService.stepFunctions).toBeCloseTo(0.025, 10);
    expect(byService.kms).toBeCloseTo(0.03, 10);
    expect(byService.sns).toBeCloseTo(0.5, 10);
    expect(byService.dynamodb).toBeCloseTo(0.625 + 0.125, 10);
    expect(byService.eventBridge).toBeCloseTo(1, 10);
    expect(byService.sqs).toBeCloseTo(0.4, 10);
  });

  it('prices Lambda by request and by GB-second of its architecture', () => {
    const usage = { ...none, lambdaInvocations: 1_000_000, lambdaGbSeconds: 100_000 };
    expect(dollarsOf(usage, 'arm64').byService.lambda).toBeCloseTo(0.2 + 100_000 * 0.0000133334, 8);
    expect(dollarsOf(usage, 'x86_64').byService.lambda).toBeCloseTo(0.2 + 100_000 * 0.0000166667, 8);
  });

  it('totals the services', () => {
    const { total } = dollarsOf({ ...none, transitions: 8, kmsRequests: 8 }, 'arm64');
    expect(total).toBeCloseTo(8 * LIST_PRICES.stepFunctionsPerTransition + 8 * LIST_PRICES.kmsPerRequest, 12);
  });

  it('refuses an architecture it has no price for', () => {
    expect(() => dollarsOf(none, 'mips')).toThrow(/no Lambda price for architecture mips/);
  });
});
