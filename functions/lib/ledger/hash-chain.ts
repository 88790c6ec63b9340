import { createHash } from 'node:crypto';
import { canonicalJson } from '../erasure/canonical-json.ts';
import type { LedgerEntry } from './ledger-events.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** SHA-256 over the canonical JSON (RFC 8785) of everything in the entry but its own hash. */
export function hashOf(entry: Omit<LedgerEntry, 'hash'>): string {
  const { subject, sequence, idempotencyKey, erasure, recordedAt, event, previousHash } = entry;
  return createHash('sha256')
    .update(canonicalJson({ subject, sequence, idempotencyKey, erasure, recordedAt, event, previousHash }))
    .digest('hex');
}

export function chainEntry(previous: LedgerEntry | undefined, entry: Omit<LedgerEntry, 'sequence' | 'previousHash' | 'hash'>): LedgerEntry {
  const unhashed = { ...entry, sequence: (previous?.sequence ?? 0) + 1, previousHash: previous?.hash ?? GENESIS_HASH };
  return { ...unhashed, hash: hashOf(unhashed) };
}

export type ChainCheck =
  | { intact: true; length: number; head: { sequence: number; hash: string } | null }
  | { intact: false; length: number; brokenAt: number; problem: string };

/**
 * Checks a subject's entries, in sequence order: numbered 1, 2, 3... with no gap, each hashing to
 * its recorded hash, each naming its predecessor's hash. An edited entry fails its own hash; a
 * deleted one leaves a gap or a link to nothing; a reordered one breaks a link.
 */
export function checkChain(entries: LedgerEntry[]): ChainCheck {
  let previous: LedgerEntry | undefined;
  for (const [index, entry] of entries.entries()) {
    const expectedSequence = index + 1;
    const broken = (problem: string): ChainCheck => ({ intact: false, length: entries.length, brokenAt: expectedSequence, problem });
    if (entry.sequence !== expectedSequence) return broken(`entry ${expectedSequence} is missing (found ${entry.sequence} in its place)`);
    if (entry.previousHash !== (previous?.hash ?? GENESIS_HASH)) return broken(`entry ${entry.sequence} does not chain to entry ${expectedSequence - 1}`);
    if (hashOf(entry) !== entry.hash) return broken(`entry ${entry.sequence} was altered after it was recorded`);
    previous = entry;
  }
  return { intact: true, length: entries.length, head: previous ? { sequence: previous.sequence, hash: previous.hash } : null };
}
