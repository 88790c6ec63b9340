import type { LedgerTable } from '../../functions/lib/aws/ledger-table.ts';
import { erasureLedger, type Ledger } from '../../functions/lib/ledger/ledger.ts';
import type { LedgerEntry } from '../../functions/lib/ledger/ledger-events.ts';
import type { ErasureRecord } from '../../functions/lib/ledger/subject-record.ts';

/**
 * The ledger table in memory, for unit tests of the ledger's users: the same conditional append as
 * DynamoDB's `attribute_not_exists`, and each call yields to the event loop, so concurrent writers
 * interleave as they would against the real table. Entries are copied in and out, as through the wire.
 */
export function ledgerTableDouble(): LedgerTable & { rows: Map<string, LedgerEntry[]>; summaries: Map<string, ErasureRecord>; keyIndex: Map<string, Set<string>> } {
  const rows = new Map<string, LedgerEntry[]>();
  const summaries = new Map<string, ErasureRecord>();
  const keyIndex = new Map<string, Set<string>>();
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return {
    rows,
    summaries,
    keyIndex,
    async entries(subject) {
      await tick();
      return structuredClone(rows.get(subject) ?? []);
    },
    async append(entry) {
      await tick();
      const entries = rows.get(entry.subject) ?? [];
      if (entries.some((existing) => existing.sequence === entry.sequence)) return false;
      entries.push(structuredClone(entry));
      entries.sort((a, b) => a.sequence - b.sequence);
      rows.set(entry.subject, entries);
      return true;
    },
    async putErasureSummary(subject, erasure) {
      await tick();
      summaries.set(`${subject}/${erasure.executionName}`, structuredClone(erasure));
    },
    async indexKey(keyArn, subject) {
      await tick();
      keyIndex.set(keyArn, new Set([...(keyIndex.get(keyArn) ?? []), subject]));
    },
    async subjectsOfKey(keyArn) {
      await tick();
      return [...(keyIndex.get(keyArn) ?? [])];
    },
  };
}

export function ledgerDouble(now: () => Date = () => new Date('2026-11-28T10:00:00Z')): Ledger & { table: ReturnType<typeof ledgerTableDouble> } {
  const table = ledgerTableDouble();
  return Object.assign(erasureLedger(table, now), { table });
}

/** The ledger events of an erasure that ran its course, in order (KMS's own deletion event aside, which races the check). */
export const COMPLETED_ERASURE_EVENTS = [
  'ClosureReceived',
  'ErasureStarted',
  'KeysResolved',
  'KeyDisabled',
  'KeyDeletionScheduled',
  'NotificationPublished',
  'DeletionVerified',
  'CertificateIssued',
  'NotificationPublished',
];
