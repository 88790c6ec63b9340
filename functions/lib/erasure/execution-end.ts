import * as z from '../runtime/zod.ts';
import type { KmsKeys } from '../aws/kms-keys.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { closureOf } from '../ledger/subject-record.ts';
import { publishOnce, type ReportingContext } from './erasure-reporting.ts';
import type { KeyStateReport } from './notifications.ts';
import { CANCELLED_BY_OPERATOR } from './operator-decisions.ts';
import { stageOption } from './subject.ts';

/**
 * Step Functions' "Execution Status Change" event (source aws.states) for an erasure that ended
 * without the pipeline's say-so: stopped by someone (ABORTED), timed out, or failed. StopExecution
 * runs nothing in the execution afterwards, so this event is the only one that can tell anyone.
 */
export const ExecutionStatusChange = z.object({
  executionArn: z.string().check(z.startsWith('arn:')),
  name: z.string(),
  status: z.enum(['ABORTED', 'TIMED_OUT', 'FAILED']),
  stopDate: z.optional(z.nullable(z.number())),
  error: z.optional(z.nullable(z.string())),
  cause: z.optional(z.nullable(z.string())),
});
export type ExecutionStatusChange = z.infer<typeof ExecutionStatusChange>;

export interface ExecutionEndOutcome {
  subject: string;
  status: ExecutionStatusChange['status'];
  /** False when the pipeline itself had already told on-call (NotifyFailed ran before the execution failed). */
  alerted: boolean;
  messageIds: string[];
}

const EXECUTION_NAME = /^erasure-([0-9a-f]{32})(?:-\d+)?$/;

/**
 * Records the end in the subject's ledger and alerts on-call with what a person needs to act: the
 * keys and their state, and what to do. A key still pending deletion is the urgent case: KMS will
 * destroy it on its date whatever happened to the execution, and no certificate will say so.
 */
export async function recordExecutionEnd(
  change: ExecutionStatusChange,
  context: Omit<ReportingContext, 'signer' | 'performedBy'> & { kms: Pick<KmsKeys, 'describeKey'>; ledger: Ledger; stage: string },
): Promise<ExecutionEndOutcome> {
  const subject = EXECUTION_NAME.exec(change.name)?.[1];
  if (!subject) throw new RangeError(`execution ${change.executionArn} is not an erasure (its name does not carry a subject fingerprint)`);

  const before = await context.ledger.read(subject);
  const stoppedAt = change.stopDate ? new Date(change.stopDate).toISOString() : context.now.toISOString();
  await context.ledger.record(subject, change.executionArn, {
    type: 'ExecutionEnded',
    status: change.status,
    error: change.error ?? null,
    cause: change.cause ?? null,
    stoppedAt,
  });

  // NotifyFailed has told on-call already, or an operator cancelled the erasure (and the CLI told them).
  const told =
    (change.status === 'ABORTED' && change.error === CANCELLED_BY_OPERATOR) ||
    before.entries.some((entry) => entry.erasure === change.executionArn && (entry.event.type === 'ErasureFailed' || entry.event.type === 'ErasureCancelled'));
  if (told) return { subject, status: change.status, alerted: false, messageIds: [] };

  const erasure = before.erasures.find((candidate) => candidate.erasure === change.executionArn);
  const keys: KeyStateReport[] = [];
  for (const keyArn of erasure?.keys ?? []) {
    const key = await context.kms.describeKey(keyArn);
    keys.push({ keyArn, keyState: key?.keyState ?? 'Deleted', deletionDate: key?.deletionDate?.toISOString() ?? null });
  }
  const messageIds = await publishOnce(
    {
      kind: 'stopped',
      execution: change.executionArn,
      request: closureOf(before, erasure?.closureEventId ?? 'unknown'),
      status: change.status,
      error: change.error ?? null,
      cause: change.cause ?? null,
      keys,
      runbook: runbook(change.status, subject, keys, context.stage),
    },
    context,
  );
  return { subject, status: change.status, alerted: true, messageIds };
}

function runbook(status: ExecutionStatusChange['status'], subject: string, keys: KeyStateReport[], stage: string): string[] {
  const onStage = stageOption(stage);
  const pending = keys.filter((key) => key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion');
  const steps: string[] = [];
  if (pending.length > 0) {
    const dates = pending.map((key) => key.deletionDate).filter((date): date is string => date !== null).sort();
    steps.push(
      `${pending.length} key(s) are still pending deletion${dates.length ? ` (first on ${dates[0]})` : ''}: KMS will destroy them on that date whatever happened to the execution, and no certificate will be issued.`,
      `To stop the deletion (a mistaken closure, a legal hold), before that date: npx erasure cancel --fingerprint ${subject} --reason "<why>"${onStage} (or npx erasure hold ... for a legal hold).`,
      `To finish the erasure with a certificate: npx erasure release --fingerprint ${subject} --reason "<why>"${onStage}, then replay the subject's closure event.`,
    );
  } else if (keys.some((key) => key.keyState !== 'Deleted')) {
    steps.push('No key is pending deletion: nothing is irreversible yet. Find out why the execution ended before replaying the closure.');
  } else if (keys.length === 0) {
    steps.push('No key was resolved before the execution ended: no key was touched.');
  } else {
    steps.push('Every key is already deleted: the data is erased, but no certificate was issued. Release the subject and replay the closure to have the deletion verified and certified.');
  }
  steps.push(`Where it stands: npx erasure status --fingerprint ${subject}${onStage}. The ledger holds this end (${status}) as evidence.`);
  return steps;
}
