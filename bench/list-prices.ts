/**
 * AWS list prices, US East (N. Virginia), on-demand, free tiers left out: what one more erasure
 * costs at the margin. Each price cites the page it comes from; check them there before quoting a
 * figure. KMS's $1 per key-month is not here: it is not a per-erasure charge, and a key pending
 * deletion is not charged at all (https://aws.amazon.com/kms/pricing/, "Key Storage").
 */
export const LIST_PRICES = {
  /** Standard workflows: $0.025 per 1,000 state transitions, retries included (https://aws.amazon.com/step-functions/pricing/). */
  stepFunctionsPerTransition: 0.025 / 1_000,
  /** $0.20 per 1M requests (https://aws.amazon.com/lambda/pricing/). */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Duration per GB-second, first tier, by architecture (https://aws.amazon.com/lambda/pricing/). */
  lambdaPerGbSecond: { arm64: 0.000_013_333_4, x86_64: 0.000_016_666_7 } as Record<string, number>,
  /** $0.03 per 10,000 requests (https://aws.amazon.com/kms/pricing/, "Key Usage"). */
  kmsPerRequest: 0.03 / 10_000,
  /** $0.50 per 1M publishes, each 64 KB chunk one publish (https://aws.amazon.com/sns/pricing/). */
  snsPerPublish: 0.5 / 1_000_000,
  /** On-demand: $0.625 per million write request units (https://aws.amazon.com/dynamodb/pricing/on-demand/). */
  dynamodbPerWriteUnit: 0.625 / 1_000_000,
  /** On-demand: $0.125 per million read request units (https://aws.amazon.com/dynamodb/pricing/on-demand/). */
  dynamodbPerReadUnit: 0.125 / 1_000_000,
  /** Custom events: $1.00 per million, each 64 KB chunk of an entry one event (https://aws.amazon.com/eventbridge/pricing/). */
  eventBridgePerEntry: 1 / 1_000_000,
  /** Standard queues: $0.40 per million requests (https://aws.amazon.com/sqs/pricing/). */
  sqsPerRequest: 0.4 / 1_000_000,
} as const;

/**
 * Lambda duration is not measured: handlers run in-process on loopback, with no cold start, so their
 * real time says nothing about Lambda's. Every invocation is billed as this declared duration.
 */
export const DECLARED_LAMBDA_DURATION_MS = 100;

/** What one erasure (or any run) used, in the units AWS bills. */
export interface BilledUsage {
  transitions: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  kmsRequests: number;
  snsPublishes: number;
  dynamodbWriteUnits: number;
  dynamodbReadUnits: number;
  eventBridgeEntries: number;
  sqsRequests: number;
}

/** Dollars at list price, per service and in total. */
export function dollarsOf(usage: BilledUsage, architecture: string): { total: number; byService: Record<string, number> } {
  const perGbSecond = LIST_PRICES.lambdaPerGbSecond[architecture];
  if (perGbSecond === undefined) throw new RangeError(`no Lambda price for architecture ${architecture}`);
  const byService = {
    stepFunctions: usage.transitions * LIST_PRICES.stepFunctionsPerTransition,
    lambda: usage.lambdaInvocations * LIST_PRICES.lambdaPerRequest + usage.lambdaGbSeconds * perGbSecond,
    kms: usage.kmsRequests * LIST_PRICES.kmsPerRequest,
    sns: usage.snsPublishes * LIST_PRICES.snsPerPublish,
    dynamodb: usage.dynamodbWriteUnits * LIST_PRICES.dynamodbPerWriteUnit + usage.dynamodbReadUnits * LIST_PRICES.dynamodbPerReadUnit,
    eventBridge: usage.eventBridgeEntries * LIST_PRICES.eventBridgePerEntry,
    sqs: usage.sqsRequests * LIST_PRICES.sqsPerRequest,
  };
  return { total: Object.values(byService).reduce((sum, dollars) => sum + dollars, 0), byService };
}
