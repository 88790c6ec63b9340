/**
 * The metrics the embedded services produce, as CloudWatch would receive them: AWS/States counts
 * one value per execution that ends (or starts), AWS/SQS samples each queue once a minute.
 */
import type { AwsEvent } from '../protocol.ts';

export interface MetricQuery {
  namespace: string;
  metricName: string;
  dimensions: { name: string; value: string }[];
  region: string;
  accountId: string;
}

export interface MetricSource {
  readonly namespace: string;
  readonly metricNames: readonly string[];
  /** The metric's values in [from, to), as far as they exist at `now`. */
  values(query: MetricQuery, from: number, to: number, now: number): number[];
  /** Called whenever one of the source's metrics may have a new value. */
  onChange(listener: () => void): void;
}

const MINUTE_MS = 60_000;
const HISTORY_MS = 2 * 86_400_000;

/**
 * AWS/States execution metrics, per StateMachineArn: ExecutionsFailed counts executions that
 * ended FAILED, and only those; a timed-out execution counts in ExecutionsTimedOut, a stopped one
 * in ExecutionsAborted (Step Functions Developer Guide, "Execution metrics"). Fed by the
 * `Step Functions Execution Status Change` events, which Standard workflows emit.
 */
export class StepFunctionsMetrics implements MetricSource {
  readonly namespace = 'AWS/States';
  readonly metricNames = ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'] as const;
  private readonly executions: { metricName: string; stateMachineArn: string; region: string; accountId: string; at: number }[] = [];
  private readonly listeners: (() => void)[] = [];

  private static readonly BY_STATUS: Record<string, string> = {
    RUNNING: 'ExecutionsStarted',
    SUCCEEDED: 'ExecutionsSucceeded',
    FAILED: 'ExecutionsFailed',
    TIMED_OUT: 'ExecutionsTimedOut',
    ABORTED: 'ExecutionsAborted',
  };

  /** Takes note of an execution status change event; any other event is ignored. */
  record(event: AwsEvent): void {
    if (event.source !== 'aws.states' || event.detailType !== 'Step Functions Execution Status Change') return;
    const metricName = StepFunctionsMetrics.BY_STATUS[String(event.detail.status)];
    if (!metricName) return;
    const at = event.time.getTime();
    this.executions.push({ metricName, stateMachineArn: String(event.detail.stateMachineArn), region: event.region, accountId: event.accountId, at });
    // Alarms look back a day at most.
    while ((this.executions[0]?.at ?? at) < at - HISTORY_MS) this.executions.shift();
    for (const listener of this.listeners) listener();
  }

  values(query: MetricQuery, from: number, to: number, now: number): number[] {
    const machine = query.dimensions.find((dimension) => dimension.name === 'StateMachineArn')?.value;
    return this.executions
      .filter(
        (execution) =>
          execution.metricName === query.metricName &&
          execution.region === query.region &&
          execution.accountId === query.accountId &&
          (machine === undefined || execution.stateMachineArn === machine) &&
          execution.at >= from &&
          execution.at < to &&
          execution.at <= now,
      )
      .map(() => 1);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}

/** What the SQS metrics read of a queue. */
export interface QueueCounts {
  queueCounts(scope: { region: string; accountId: string }, queueName: string, at: number): { visible: number; inFlight: number; delayed: number } | undefined;
  onQueueChange(listener: () => void): unknown;
}

/**
 * AWS/SQS queue metrics per QueueName, sampled at each minute: ApproximateNumberOfMessagesVisible,
 * ...NotVisible and ...Delayed, the counts GetQueueAttributes gives, as they were at that minute.
 */
export class SqsMetrics implements MetricSource {
  readonly namespace = 'AWS/SQS';
  readonly metricNames = ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
  private readonly queues: QueueCounts;

  constructor(queues: QueueCounts) {
    this.queues = queues;
  }

  values(query: MetricQuery, from: number, to: number, now: number): number[] {
    const queueName = query.dimensions.find((dimension) => dimension.name === 'QueueName')?.value;
    if (queueName === undefined) return [];
    const samples: number[] = [];
    for (let at = Math.ceil(from / MINUTE_MS) * MINUTE_MS; at < to && at <= now; at += MINUTE_MS) {
      const counts = this.queues.queueCounts(query, queueName, at);
      if (!counts) continue;
      if (query.metricName === 'ApproximateNumberOfMessagesVisible') samples.push(counts.visible);
      else if (query.metricName === 'ApproximateNumberOfMessagesNotVisible') samples.push(counts.inFlight);
      else if (query.metricName === 'ApproximateNumberOfMessagesDelayed') samples.push(counts.delayed);
    }
    return samples;
  }

  onChange(listener: () => void): void {
    this.queues.onQueueChange(listener);
  }
}
