import type { LedgerTable } from '../aws/ledger-table.ts';
import { LedgerChainBroken, LedgerContention } from '../erasure/errors.ts';
import { sleep } from '../runtime/clock.ts';
import { chainEntry, checkChain } from './hash-chain.ts';
import { idempotencyKeyOf, type LedgerEntry, type LedgerEvent } from './ledger-events.ts';
import { foldErasures, foldSubject, type SubjectRecord } from './subject-record.ts';

export interface Ledger {
  /** The subject's whole record; its chain is checked, not trusted. */
  read(subject: string): Promise<SubjectRecord>;
  /**
   * Appends the event to the subject's chain, exactly once: if an entry with the same idempotency
   * key is there already (a duplicate delivery, a retried Lambda), that entry is returned instead.
   */
  record(subject: string, erasure: string | null, event: LedgerEvent, options?: { requestId?: string }): Promise<LedgerEntry>;
  /**
   * Records as `record` does, and hands back with the entry the subject's chain as this ledger
   * knows it after the write: read again when another writer had appended meanwhile, so it holds
   * what they wrote before this entry was found or written.
   */
  recordInChain(subject: string, erasure: string | null, event: LedgerEvent, options?: { requestId?: string }): Promise<{ entry: LedgerEntry; chain: LedgerEntry[] }>;
  /** The subjects whose erasures named this key: how a key's own events (its use, its deletion) find their erasure. */
  subjectsOfKey(keyArn: string): Promise<string[]>;
}

// Writers to one subject race only when deliveries of one closure overlap, or an operator acts
// while a step of the erasure runs: a handful of rounds settles any real contention.
const MAX_ROUNDS = 25;
// Chains this instance has read or written in the current invocation, by subject (a few hundred
// subjects cover every step of one).
const REMEMBERED_SUBJECTS = 500;

type Chains = Map<string, LedgerEntry[]>;

const sharedChains = new Set<Chains>();
// Where an invocation sharing the process keeps its chains, in its InvokeStore: by ledger instance.
const INVOCATION_CHAINS = Symbol('crypto-erasure.ledger.remembered-chains');

/**
 * Forgets every chain the invocation under way remembers (for invocations run one at a time, every
 * chain this process remembers): it starts again from what the table holds, and only the steps of
 * one invocation append from a chain it read itself. Invocations sharing the process remember
 * theirs apart, so one starting does not make another forget.
 */
export function forgetRememberedChains(): void {
  for (const remembered of sharedChains) remembered.clear();
  invocationStore()?.set(INVOCATION_CHAINS, undefined);
}

/** The part of the Lambda runtime's InvokeStore (`@aws/lambda-invoke-store`) the ledger uses. */
interface InvokeStore {
  hasContext(): boolean;
  get(key: symbol): unknown;
  set(key: symbol, value: unknown): void;
}

/**
 * The store of the invocation under way, when several invocations share this process (Lambda
 * Managed Instances, the embedded AWS): the runtime then sets AWS_LAMBDA_MAX_CONCURRENCY and runs
 * each invocation in a context of its own, which Powertools reads the same way. A chain kept there
 * is this invocation's alone: another one starting cannot forget it, nor append from it.
 */
function invocationStore(): InvokeStore | undefined {
  if (!process.env.AWS_LAMBDA_MAX_CONCURRENCY) return undefined;
  const store = (globalThis as { awslambda?: { InvokeStore?: InvokeStore } }).awslambda?.InvokeStore;
  return store?.hasContext() ? store : undefined;
}

export function erasureLedger(table: LedgerTable, now: () => Date): Ledger {
  // The key index is written after the entry, and again whenever the entry is found already
  // written: a retry after a crash between the two completes it.
  const indexed = async (entry: LedgerEntry): Promise<LedgerEntry> => {
    if (entry.event.type === 'KeysResolved') {
      for (const key of entry.event.keys) await table.indexKey(key.keyArn, entry.subject, entry.recordedAt);
    }
    return entry;
  };
  // The erasure's summary item is a projection of its entries. Most entries (a key disabled, a
  // notification sent) leave it as it was: put only when it changes, it costs a write per step that
  // matters instead of one per entry. A summary missed by a crash after the append is put by the
  // erasure's next change, and every erasure ends with one (verified, cancelled, failed, ended); it
  // can also be rebuilt from the entries at any time.
  const summarise = async (subject: string, erasure: string, chain: LedgerEntry[], asOfSequence: number, before: LedgerEntry[]) => {
    const summary = foldErasures(subject, chain).find((candidate) => candidate.erasure === erasure);
    if (!summary) return;
    const previous = foldErasures(subject, before).find((candidate) => candidate.erasure === erasure);
    if (previous && JSON.stringify(previous) === JSON.stringify(summary)) return;
    await table.putErasureSummary(subject, summary, asOfSequence);
  };
  // A remembered chain is a prefix of the true one (the chain only grows), so it is safe to append
  // from: if others have written since, the sequence number is taken, the append fails, and the
  // chain is read again. It spares a read before each write; reads for decisions are always fresh.
  const shared: Chains = new Map();
  sharedChains.add(shared);
  const rememberedChains = (): Chains => {
    const store = invocationStore();
    if (!store) return shared;
    let invocationChains = store.get(INVOCATION_CHAINS) as Map<Chains, Chains> | undefined;
    if (!invocationChains) store.set(INVOCATION_CHAINS, (invocationChains = new Map()));
    let chains = invocationChains.get(shared);
    if (!chains) invocationChains.set(shared, (chains = new Map()));
    return chains;
  };
  const remember = (subject: string, entries: LedgerEntry[]) => {
    const remembered = rememberedChains();
    remembered.delete(subject);
    remembered.set(subject, entries);
    if (remembered.size > REMEMBERED_SUBJECTS) remembered.delete(remembered.keys().next().value!);
  };
  return {
    async read(subject) {
      const record = foldSubject(subject, await table.entries(subject));
      if (record.chain.intact) remember(subject, record.entries);
      return record;
    },

    async record(subject, erasure, event, options = {}) {
      return (await recordInChain(subject, erasure, event, options)).entry;
    },

    recordInChain,

    subjectsOfKey(keyArn) {
      return table.subjectsOfKey(keyArn);
    },
  };

  async function recordInChain(
    subject: string,
    erasure: string | null,
    event: LedgerEvent,
    options: { requestId?: string } = {},
  ): Promise<{ entry: LedgerEntry; chain: LedgerEntry[] }> {
    const idempotencyKey = idempotencyKeyOf(event, erasure, options.requestId);
    let entries = rememberedChains().get(subject);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      if (!entries) {
        entries = await table.entries(subject);
        const chain = checkChain(entries);
        if (!chain.intact) {
          // Never write onto a tampered chain: the new entry would vouch for whatever was changed.
          throw new LedgerChainBroken(`the ledger of subject ${subject} is broken at entry ${chain.brokenAt}: ${chain.problem}`);
        }
        // Kept even when the event turns out to be there already: the invocation's next event
        // appends from it without reading again.
        remember(subject, entries);
      }
      const existing = entries.find((entry) => entry.idempotencyKey === idempotencyKey);
      if (existing) return { entry: await indexed(existing), chain: entries };

      const entry = chainEntry(entries.at(-1), { subject, idempotencyKey, erasure, recordedAt: now().toISOString(), event });
      if (await table.append(entry)) {
        const chain = [...entries, entry];
        remember(subject, chain);
        if (erasure) await summarise(subject, erasure, chain, entry.sequence, entries);
        return { entry: await indexed(entry), chain };
      }
      // Another writer took this place in the chain: read the chain again and retry. Two writers
      // (intake and the execution's first step both recording the start) settle in one more round:
      // the read is pause enough. More than two collide again, and from then on each waits a short
      // random pause first, so they do not go on colliding in lockstep (on the handlers' clock,
      // which the embedded AWS runs as it runs every other wait). A pause the first time would
      // reorder a burst's erasures, which are otherwise taken in their order of arrival.
      entries = undefined;
      rememberedChains().delete(subject);
      if (round > 1) await sleep(Math.random() * 10 * (round - 1));
    }
    throw new LedgerContention(`could not append ${event.type} to the ledger of subject ${subject} after ${MAX_ROUNDS} attempts`);
  }
}
