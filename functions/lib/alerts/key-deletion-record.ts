import type { Ledger } from '../ledger/ledger.ts';

export interface KeyDeletionRecord {
  keyArn: string;
  /** The subjects whose ledgers now hold KMS's own word that the key is gone. */
  recordedFor: string[];
  /** The erasures (their executions' ARNs) that scheduled the key. */
  erasures: string[];
}

/**
 * KMS's own `KMS CMK Deletion` event, recorded in the ledger of every erasure that named the key:
 * more evidence beside the verification by polling, which stays the truth (the event is best
 * effort and may come twice; the ledger keeps it once). A key no erasure named is not ours to record.
 */
export async function recordKeyDeletion(keyArn: string, deletedAt: string, eventId: string, ledger: Ledger): Promise<KeyDeletionRecord> {
  const recordedFor: string[] = [];
  const erasures: string[] = [];
  for (const subject of await ledger.subjectsOfKey(keyArn)) {
    const record = await ledger.read(subject);
    const erasure = record.erasures.findLast((candidate) => candidate.keys.includes(keyArn));
    if (!erasure) continue;
    await ledger.record(subject, erasure.erasure, { type: 'KeyDeletedByKms', keyArn, deletedAt, eventId });
    recordedFor.push(subject);
    erasures.push(erasure.erasure);
  }
  return { keyArn, recordedFor, erasures };
}
