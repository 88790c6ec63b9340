import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startEmbeddedAws, type EmbeddedAws } from '../embedded-aws/embedded-aws.ts';
import type { RequestMeter } from '../embedded-aws/request-meter.ts';
import type { EventBridgeEvent } from '../embedded-aws/eventbridge/embedded-event-bridge.ts';
import { ledgerTable } from '../functions/lib/aws/ledger-table.ts';
import { readKeyPolicy } from '../functions/lib/erasure/settings.ts';
import { fingerprintSubject } from '../functions/lib/erasure/subject.ts';
import { erasureLedger } from '../functions/lib/ledger/ledger.ts';
import type { ErasureStatus } from '../functions/lib/ledger/subject-record.ts';

/** A subject of the benchmark's world: one customer managed key, tagged and aliased as the pipeline expects. */
export interface BenchSubject {
  subjectId: string;
  keyId: string;
}

/** How the ledger says a closure's erasure ended; `none` when no erasure was ever started for it. */
export interface ErasureOutcome {
  status: ErasureStatus | 'none';
  endReason: string | null;
}

/**
 * An embedded AWS as every section measures on: KMS's request quotas on, the handlers silent, every
 * request metered. Each loads the handlers afresh, as a new deployment starts cold.
 */
export function startBenchAws(meter: RequestMeter, options: { deletionLagMs?: number } = {}): Promise<EmbeddedAws> {
  return startEmbeddedAws({
    quotas: true,
    deletionLagMs: options.deletionLagMs,
    // The daily key audit would read every key of the world each virtual day: not what is measured.
    params: { auditSchedule: 'rate(365 days)' },
    environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    log: () => undefined,
    console: () => undefined,
    meter,
  });
}

let sample: EventBridgeEvent | undefined;

/** The sample AccountClosed event of events/, as every replay and test reads it. */
export function sampleClosure(): EventBridgeEvent {
  sample ??= JSON.parse(readFileSync('events/account-closed.json', 'utf8')) as EventBridgeEvent;
  return structuredClone(sample);
}

/**
 * Deploys one key per subject straight into the embedded KMS, as CloudFormation would, so that
 * building a world of 10,000 keys is not itself throttled by CreateKey's 5 per second.
 */
export async function deploySubjectKeys(aws: EmbeddedAws, count: number, prefix: string): Promise<BenchSubject[]> {
  const { subjectTagKey, aliasPrefix } = readKeyPolicy();
  const scope = { accountId: aws.deployment.accountId, region: aws.deployment.region };
  const subjects: BenchSubject[] = [];
  for (let index = 0; index < count; index++) {
    const subjectId = `${prefix}-${String(index).padStart(5, '0')}`;
    const { keyId } = aws.kms.deployKey(scope, {
      keyId: crypto.randomUUID(),
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      description: 'benchmark subject key',
      tags: [{ TagKey: subjectTagKey, TagValue: subjectId }],
      multiRegion: false,
      enabled: true,
    });
    await aws.kms.deployAlias(scope, `${aliasPrefix}/${subjectId}`, keyId);
    subjects.push({ subjectId, keyId });
  }
  return subjects;
}

/** The sample AccountClosed event for this subject, closed at `at` (EventBridge's time has whole seconds). */
export function closureEvent(aws: EmbeddedAws, subjectId: string, at: Date): EventBridgeEvent {
  const sample = sampleClosure();
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    ...sample,
    id: crypto.randomUUID(),
    account: aws.deployment.accountId,
    region: aws.deployment.region,
    time,
    detail: { ...sample.detail, subjectId, closedAt: time, reason: 'benchmark' },
  };
}

/** Each closure's erasure as its subject's ledger tells it, read a few subjects at a time. */
export async function erasureOutcomes(aws: EmbeddedAws, closures: { subjectId: string; eventId: string }[]): Promise<ErasureOutcome[]> {
  const ledger = erasureLedger(ledgerTable(new DynamoDBClient(aws.clientConfig), aws.nameOf('LedgerTable')), () => aws.clock.now());
  const outcomes = new Array<ErasureOutcome>(closures.length);
  let next = 0;
  const reader = async () => {
    for (let index = next++; index < closures.length; index = next++) {
      const { subjectId, eventId } = closures[index]!;
      const record = await ledger.read(fingerprintSubject(subjectId));
      const erasure = record.erasures.find((candidate) => candidate.closureEventId === eventId);
      outcomes[index] = erasure ? { status: erasure.status, endReason: erasure.endReason } : { status: 'none', endReason: null };
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  return outcomes;
}

/** The erasure executions by status, as Step Functions reports them. */
export function executionStatuses(aws: EmbeddedAws): Record<string, number> {
  const statuses: Record<string, number> = {};
  for (const execution of aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine'))) statuses[execution.status] = (statuses[execution.status] ?? 0) + 1;
  return Object.fromEntries(Object.entries(statuses).sort(([a], [b]) => a.localeCompare(b)));
}
