import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, chainEntry, checkChain } from '../../../functions/lib/ledger/hash-chain.ts';
import type { LedgerEntry, LedgerEvent } from '../../../functions/lib/ledger/ledger-events.ts';

const subject = 'a'.repeat(32);
const events: LedgerEvent[] = [
  { type: 'ClosureReceived', eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' },
  { type: 'ErasureStarted', eventId: 'e-1', executionName: `erasure-${subject}` },
  { type: 'KeyDisabled', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k-1', outcome: 'disabled' },
  { type: 'KeyDeletionScheduled', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k-1', deletionDate: '2026-12-20T09:30:00Z', pendingWindowDays: 30, alreadyScheduled: false },
];

function chain(): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (const [index, event] of events.entries()) {
    entries.push(chainEntry(entries.at(-1), { subject, idempotencyKey: `k-${index}`, erasure: index === 0 ? null : 'arn:execution', recordedAt: `2026-11-20T09:3${index}:00.000Z`, event }));
  }
  return entries;
}

describe('the ledger hash chain', () => {
  it('numbers entries from 1 and links each to the hash of the one before', () => {
    const entries = chain();
    expect(entries.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4]);
    expect(entries[0]?.previousHash).toBe(GENESIS_HASH);
    expect(entries[2]?.previousHash).toBe(entries[1]?.hash);
    expect(checkChain(entries)).toEqual({ intact: true, length: 4, head: { sequence: 4, hash: entries[3]?.hash } });
  });

  it('shows a past event edited after it was recorded', () => {
    const entries = chain();
    const scheduled = entries[3]!.event as Extract<LedgerEvent, { type: 'KeyDeletionScheduled' }>;
    scheduled.deletionDate = '2027-01-20T09:30:00Z';
    expect(checkChain(entries)).toMatchObject({ intact: false, brokenAt: 4, problem: 'entry 4 was altered after it was recorded' });
  });

  it('shows an edit even when the editor recomputes that entry\'s own hash', () => {
    const entries = chain();
    const edited = { ...entries[1]!, recordedAt: '2026-11-21T00:00:00.000Z' };
    entries[1] = chainEntry(entries[0], edited);
    expect(checkChain(entries)).toMatchObject({ intact: false, brokenAt: 3, problem: 'entry 3 does not chain to entry 2' });
  });

  it('shows a deleted entry', () => {
    const entries = chain();
    entries.splice(1, 1);
    expect(checkChain(entries)).toMatchObject({ intact: false, brokenAt: 2 });
  });

  it('shows a deleted last entry as a shorter chain, which a certificate naming the head exposes', () => {
    const entries = chain();
    const head = entries.at(-1)!;
    expect(checkChain(entries.slice(0, -1))).toMatchObject({ intact: true, head: { sequence: 3 } });
    expect(checkChain(entries.slice(0, -1))).not.toMatchObject({ head: { hash: head.hash } });
  });

  it('treats an empty ledger as an intact chain with no head', () => {
    expect(checkChain([])).toEqual({ intact: true, length: 0, head: null });
  });
});
