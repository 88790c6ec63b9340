import type { Clock } from '../embedded-aws/clock.ts';
import type { MeteredRequest, RequestMeter } from '../embedded-aws/request-meter.ts';

/** A request as the benchmark keeps it: what it counts and prices, not the payload (10,000 certificates would not fit). */
export interface LoggedRequest {
  service: string;
  operation: string;
  errorCode: string | undefined;
  /** Virtual instant it was answered. */
  atMs: number;
  /** The key, function, topic or queue it named, if any. */
  resource: string | undefined;
  /** PutEvents: how many entries it carried. */
  entries: number | undefined;
}

// The KMS quotas the erasure's own calls are bound by (docs/aws-facts.md, "KMS request quotas").
export const QUOTA_BOUND_KMS_OPERATIONS = ['DisableKey', 'ScheduleKeyDeletion'];

const DYNAMODB_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/**
 * Every request the embedded AWS answers while recording, stamped with the virtual instant. It is
 * the benchmark's view of AWS's own meters (the bill, CloudTrail, the quota counters): it does not
 * depend on which states, functions or queues a design uses.
 */
export class RequestLog {
  readonly requests: LoggedRequest[] = [];
  private clock: Clock | undefined;
  private recording = false;

  readonly meter: RequestMeter = (request: MeteredRequest) => {
    if (!this.recording) return;
    const { input } = request;
    const resource = [input.KeyId, input.FunctionName, input.TopicArn, input.QueueUrl].find((value): value is string => typeof value === 'string');
    this.requests.push({
      service: request.service,
      operation: request.operation,
      errorCode: request.errorCode,
      atMs: this.clock?.now().getTime() ?? Date.now(),
      resource,
      entries: Array.isArray(input.Entries) ? input.Entries.length : undefined,
    });
  };

  /** Starts recording afresh, on this clock: setup before it is not counted. */
  start(clock: Clock): void {
    this.clock = clock;
    this.requests.length = 0;
    this.recording = true;
  }

  /** Stops recording: the benchmark's own reads afterwards (the ledger, key states) are not counted. */
  stop(): void {
    this.recording = false;
  }

  count(service: string, filter: (request: LoggedRequest) => boolean = () => true): number {
    return this.requests.filter((request) => request.service === service && filter(request)).length;
  }

  /** DynamoDB request units, one per read or write request: the ledger's items are small (see README, Benchmarks). */
  dynamodbUnits(): { reads: number; writes: number } {
    return {
      reads: this.count('dynamodb', (request) => DYNAMODB_READS.has(request.operation) && !isThrottled(request)),
      writes: this.count('dynamodb', (request) => DYNAMODB_WRITES.has(request.operation) && !isThrottled(request)),
    };
  }
}

export function isThrottled(request: LoggedRequest): boolean {
  return request.errorCode === 'ThrottlingException' || request.errorCode === 'ProvisionedThroughputExceededException';
}

/** A key ARN or key ID, as the key ID: a request may name a key either way. */
export function keyIdOf(keyIdOrArn: string): string {
  return keyIdOrArn.includes(':key/') ? (keyIdOrArn.split(':key/')[1] ?? keyIdOrArn) : keyIdOrArn;
}
