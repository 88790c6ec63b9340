import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { kmsKeys } from '../../functions/lib/aws/kms-keys.ts';
import type { LedgerEntry } from '../../functions/lib/ledger/ledger-events.ts';
import type { ChainCheck } from '../../functions/lib/ledger/hash-chain.ts';
import type { ErasureRecord, LegalHold } from '../../functions/lib/ledger/subject-record.ts';
import type { Target } from '../target.ts';

export interface SubjectStatus {
  subject: string;
  chain: ChainCheck;
  state: 'unknown' | 'erasing' | 'erased' | 'held' | 'awaiting-release' | 'failed';
  hold: LegalHold | null;
  erasures: (ErasureRecord & { executionStatus: string | null; keyStates: { keyArn: string; keyState: string; deletionDate: string | null }[] })[];
  entries: Pick<LedgerEntry, 'sequence' | 'recordedAt' | 'erasure' | 'event'>[];
}

/** `erasure status`: where a subject's erasure stands, from the ledger, Step Functions and KMS. */
export async function subjectStatus(target: Target, subject: string): Promise<SubjectStatus> {
  const record = await target.ledger.read(subject);
  const kms = kmsKeys(target.clientConfig);
  const erasures = [];
  for (const erasure of record.erasures) {
    const execution = await target.clients.sfn.send(new DescribeExecutionCommand({ executionArn: erasure.erasure })).then(
      (described) => described.status ?? null,
      // Step Functions forgets an execution 90 days after it closed; the ledger does not.
      (error: Error) => (error.name === 'ExecutionDoesNotExist' ? 'expired from Step Functions' : `unknown (${error.name})`),
    );
    const keyStates = [];
    for (const keyArn of erasure.keys) {
      const key = await kms.describeKey(keyArn);
      keyStates.push({ keyArn, keyState: key?.keyState ?? 'Deleted', deletionDate: key?.deletionDate?.toISOString() ?? null });
    }
    erasures.push({ ...erasure, executionStatus: execution, keyStates });
  }
  const last = record.erasures.at(-1);
  const state: SubjectStatus['state'] = record.erased
    ? 'erased'
    : record.hold
      ? 'held'
      : record.awaitingRelease
        ? 'awaiting-release'
        : last?.status === 'running'
          ? 'erasing'
          : last?.status === 'failed' || last?.status === 'timed-out'
            ? 'failed'
            : 'unknown';
  return {
    subject,
    chain: record.chain,
    state,
    hold: record.hold,
    erasures,
    entries: record.entries.map(({ sequence, recordedAt, erasure, event }) => ({ sequence, recordedAt, erasure, event })),
  };
}
