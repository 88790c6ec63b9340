import { KMS_REQUEST_QUOTAS } from '../embedded-aws/kms/request-quotas.ts';
import { closureEvent, deploySubjectKeys, erasureOutcomes, executionStatuses, startBenchAws } from './closure-world.ts';
import { outOfOrder, percentile, rounded, utilization } from './metrics.ts';
import { QUOTA_BOUND_KMS_OPERATIONS, RequestLog, keyIdOf } from './request-log.ts';

export interface BurstResult {
  size: number;
  /** Keys disabled per second, first to last DisableKey success, over the DisableKey quota. */
  utilization: number | null;
  /** Closures whose erasure did not complete (the ledger's word). */
  failed: number;
  /** Of those, the erasures that ended on a ThrottlingException. */
  throttlingFailures: number;
  /** ThrottlingExceptions answered to DisableKey and ScheduleKeyDeletion, per successful such call. */
  throttledPerSuccess: number | null;
  /** Closure's event time to its key's first DisableKey success, virtual seconds. */
  p50Seconds: number | null;
  p99Seconds: number | null;
  /** Share of pairs of closures whose keys were disabled in the other order than the closures arrived. */
  outOfOrder: number;
  /** Keys disabled (a DisableKey success), of `size`. */
  disabled: number;
  /** The erasure executions by status. */
  executions: Record<string, number>;
  /** Virtual seconds from the burst to the last key disabled. */
  disablingSeconds: number | null;
  wallSeconds: number;
}

/**
 * `size` closures, one key each, put on the closure bus at one virtual instant against KMS's real
 * request quotas, run until every erasure has ended. Every figure is read from what any design
 * leaves behind: KMS's requests (as AWS would meter them), the ledger, the executions' statuses.
 */
const ARRIVAL_INTERVAL_MS = 1;

export async function runBurst(size: number): Promise<BurstResult> {
  const wallStart = performance.now();
  const requests = new RequestLog();
  const aws = await startBenchAws(requests.meter);
  try {
    const subjects = await deploySubjectKeys(aws, size, 'burst-subject');
    // On a whole second, so that the events' time (whole seconds, as EventBridge gives it) is the instant itself.
    aws.clock.advanceTo(new Date(Math.ceil(aws.clock.now().getTime() / 1000) * 1000));
    const closedAt = aws.clock.now();
    requests.start(aws.clock);
    const closureBus = aws.nameOf('ClosureEventBus');
    // The burst arrives at a thousand closures a second (one a millisecond: a backlog replayed
    // through PutEvents), two hundred times DisableKey's quota; arriving one after another, they
    // have an order of arrival for the pipeline to keep.
    const closures = [];
    for (const [index, subject] of subjects.entries()) {
      await aws.runUntil(new Date(closedAt.getTime() + index * ARRIVAL_INTERVAL_MS));
      const event = closureEvent(aws, subject.subjectId, aws.clock.now());
      aws.events.redeliver(event, closureBus);
      closures.push({ ...subject, eventId: event.id, closedAtMs: aws.clock.now().getTime() });
    }
    await aws.runToCompletion();
    await aws.idle();
    requests.stop();

    const kms = requests.requests.filter((request) => request.service === 'kms');
    const disabledAtMs = new Map<string, number>();
    for (const request of kms) {
      if (request.operation !== 'DisableKey' || request.errorCode !== undefined || request.resource === undefined) continue;
      const keyId = keyIdOf(request.resource);
      if (!disabledAtMs.has(keyId)) disabledAtMs.set(keyId, request.atMs);
    }
    const quotaBound = kms.filter((request) => QUOTA_BOUND_KMS_OPERATIONS.includes(request.operation));
    const throttled = quotaBound.filter((request) => request.errorCode === 'ThrottlingException').length;
    const succeeded = quotaBound.filter((request) => request.errorCode === undefined).length;

    const latencies: number[] = [];
    const disabledInArrivalOrder: number[] = [];
    for (const closure of closures) {
      const at = disabledAtMs.get(closure.keyId);
      if (at === undefined) continue;
      latencies.push((at - closure.closedAtMs) / 1000);
      disabledInArrivalOrder.push(at);
    }
    const outcomes = await erasureOutcomes(aws, closures);
    const failures = outcomes.filter((outcome) => outcome.status !== 'completed');
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const lastDisabled = disabledInArrivalOrder.reduce<number | undefined>((latest, at) => (latest === undefined || at > latest ? at : latest), undefined);
    const rate = utilization([...disabledAtMs.values()], KMS_REQUEST_QUOTAS.DisableKey!);
    return {
      size,
      utilization: rate === null ? null : rounded(rate),
      failed: failures.length,
      throttlingFailures: failures.filter((outcome) => outcome.endReason?.includes('ThrottlingException')).length,
      throttledPerSuccess: succeeded === 0 ? null : rounded(throttled / succeeded),
      p50Seconds: p50 === null ? null : rounded(p50, 3),
      p99Seconds: p99 === null ? null : rounded(p99, 3),
      outOfOrder: rounded(outOfOrder(disabledInArrivalOrder)),
      disabled: disabledInArrivalOrder.length,
      executions: executionStatuses(aws),
      disablingSeconds: lastDisabled === undefined ? null : rounded((lastDisabled - closedAt.getTime()) / 1000, 3),
      wallSeconds: rounded((performance.now() - wallStart) / 1000, 1),
    };
  } finally {
    await aws.close();
  }
}
