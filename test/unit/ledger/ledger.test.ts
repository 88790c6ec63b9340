import { describe, expect, it } from 'vitest';
import { checkChain } from '../../../functions/lib/ledger/hash-chain.ts';
import type { LedgerEvent } from '../../../functions/lib/ledger/ledger-events.ts';
import { erasureLedger, forgetRememberedChains } from '../../../functions/lib/ledger/ledger.ts';
import { concurrentInvocationStore, runInvocation } from '../../../embedded-aws/lambda/invocation-store.ts';
import { useTimeSource } from '../../../functions/lib/runtime/clock.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';

const subject = 'b'.repeat(32);
const erasure = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-b';
const closure: LedgerEvent = { type: 'ClosureReceived', eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' };
const disabled = (n: number): LedgerEvent => ({ type: 'KeyDisabled', keyArn: `arn:aws:kms:eu-west-1:111122223333:key/k-${n}`, outcome: 'disabled' });

describe('the erasure ledger', () => {
  it('records a duplicate delivery once, and hands back the first entry', async () => {
    const ledger = ledgerDouble();
    const first = await ledger.record(subject, null, closure);
    const again = await ledger.record(subject, null, closure);
    expect(again).toEqual(first);
    expect(ledger.table.rows.get(subject)).toHaveLength(1);
  });

  it('writes each event exactly once when ten deliveries of it race', async () => {
    const ledger = ledgerDouble();
    const entries = await Promise.all(Array.from({ length: 10 }, () => ledger.record(subject, erasure, disabled(1))));
    expect(new Set(entries.map((entry) => entry.hash)).size).toBe(1);
    expect(ledger.table.rows.get(subject)).toHaveLength(1);
  });

  it('keeps one unbroken chain when twenty different events race', async () => {
    const ledger = ledgerDouble();
    await Promise.all(Array.from({ length: 20 }, (_, n) => ledger.record(subject, erasure, disabled(n))));
    const rows = ledger.table.rows.get(subject) ?? [];
    expect(rows.map((entry) => entry.sequence)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    expect(checkChain(rows)).toMatchObject({ intact: true, length: 20 });
    expect(new Set(rows.map((entry) => entry.idempotencyKey)).size).toBe(20);
  });

  it('refuses to append to a chain whose past was edited, once it reads it', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, erasure, disabled(1));
    await ledger.record(subject, erasure, disabled(2));
    const stored = ledger.table.rows.get(subject)![0]!;
    (stored.event as { outcome: string }).outcome = 'already-pending-deletion';
    // Another instance (another Lambda) reads the chain before it writes.
    const another = erasureLedger(ledger.table, () => new Date());
    await expect(another.record(subject, erasure, disabled(3))).rejects.toMatchObject({ name: 'LedgerChainBroken', message: expect.stringContaining('entry 1 was altered') });
    await expect(another.read(subject)).resolves.toMatchObject({ chain: { intact: false, brokenAt: 1 } });
  });

  it('keeps an edit visible even after a writer that remembered the chain appends to it', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, erasure, disabled(1));
    (ledger.table.rows.get(subject)![0]!.event as { outcome: string }).outcome = 'edited';
    await ledger.record(subject, erasure, disabled(2));
    expect((await ledger.read(subject)).chain).toMatchObject({ intact: false, brokenAt: 1 });
  });

  it('appends from a remembered chain, and reads again when another writer got there first', async () => {
    const first = ledgerDouble();
    const second = erasureLedger(first.table, () => new Date());
    await first.record(subject, erasure, disabled(1));
    await second.record(subject, erasure, disabled(2));
    // `first` remembers a chain of one entry: its append at 2 fails, it reads, it appends at 3.
    await first.record(subject, erasure, disabled(3));
    expect((first.table.rows.get(subject) ?? []).map((entry) => entry.sequence)).toEqual([1, 2, 3]);
    expect((await first.read(subject)).chain).toMatchObject({ intact: true, length: 3 });
  });

  it("reads again and retries at once after losing one round; from the second lost round on, pauses first, on the handlers' clock", async () => {
    const pauses: number[] = [];
    const restore = useTimeSource({ now: () => new Date(), sleep: async (ms) => void pauses.push(ms) });
    try {
      const first = ledgerDouble();
      const second = erasureLedger(first.table, () => new Date());
      await first.record(subject, erasure, disabled(1));
      await second.record(subject, erasure, disabled(2));
      await first.record(subject, erasure, disabled(3));
      expect(pauses).toEqual([]);

      // Another writer appends right after each of `first`'s next two reads: it loses twice.
      const read = first.table.entries.bind(first.table);
      const racer = erasureLedger({ ...first.table, entries: read }, () => new Date());
      let racing = 2;
      first.table.entries = async (subjectRead) => {
        const entries = await read(subjectRead);
        if (racing-- > 0) await racer.record(subject, erasure, disabled(10 + racing));
        return entries;
      };
      forgetRememberedChains();
      await first.record(subject, erasure, disabled(4));
      expect(pauses).toHaveLength(1);
      expect(pauses[0]).toBeGreaterThanOrEqual(0);
      expect(pauses[0]).toBeLessThan(10);
      expect((await first.read(subject)).chain).toMatchObject({ intact: true, length: 6 });
    } finally {
      restore();
    }
  });

  it('keeps a summary item per erasure, projected from its events', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-b' });
    await ledger.record(subject, erasure, { type: 'KeysResolved', keys: [{ keyArn: 'arn:k-1', keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
    expect(ledger.table.summaries.get(`${subject}/erasure-b`)).toMatchObject({ status: 'running', keys: ['arn:k-1'], closureEventId: 'e-1' });
  });

  it('puts the summary again only when an event changes it: a key disabled or a notification sent leaves it as it was', async () => {
    const ledger = ledgerDouble();
    let puts = 0;
    const put = ledger.table.putErasureSummary.bind(ledger.table);
    ledger.table.putErasureSummary = (...args) => {
      puts++;
      return put(...args);
    };
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-b' });
    await ledger.record(subject, erasure, { type: 'KeysResolved', keys: [{ keyArn: 'arn:k-1', keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
    expect(puts).toBe(2);

    await ledger.record(subject, erasure, { type: 'KeyDisabled', keyArn: 'arn:k-1', outcome: 'disabled' });
    expect(puts).toBe(2);

    await ledger.record(subject, erasure, { type: 'KeyDeletionScheduled', keyArn: 'arn:k-1', deletionDate: '2026-12-05T10:00:00.000Z', pendingWindowDays: 7, alreadyScheduled: false });
    expect(puts).toBe(3);
    expect(ledger.table.summaries.get(`${subject}/erasure-b`)).toMatchObject({ deletionDates: ['2026-12-05T10:00:00.000Z'] });
  });

  it('appends the next event from the chain it read to find a duplicate, without reading it again', async () => {
    const intake = ledgerDouble();
    const step = erasureLedger(intake.table, () => new Date());
    let reads = 0;
    const entries = intake.table.entries.bind(intake.table);
    intake.table.entries = (subjectOfEntries) => {
      reads++;
      return entries(subjectOfEntries);
    };
    await intake.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-b' });
    reads = 0;

    await step.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-b' });
    await step.record(subject, erasure, disabled(1));

    expect(reads).toBe(1);
    expect((intake.table.rows.get(subject) ?? []).map((entry) => entry.event.type)).toEqual(['ErasureStarted', 'KeyDisabled']);
  });

  it('needs an operator request id to record a hold, so two holds are two entries', async () => {
    const ledger = ledgerDouble();
    const hold: LedgerEvent = { type: 'LegalHoldPlaced', by: 'legal@example.com', reason: 'litigation 2026-17', until: null };
    await expect(ledger.record(subject, null, hold)).rejects.toThrow(/request's id/);
    await ledger.record(subject, null, hold, { requestId: 'r-1' });
    await ledger.record(subject, null, hold, { requestId: 'r-1' });
    await ledger.record(subject, null, hold, { requestId: 'r-2' });
    expect(ledger.table.rows.get(subject)).toHaveLength(2);
  });
});

describe('invocations sharing one process', () => {
  it('each append from the chain they read themselves, however many others start meanwhile', async () => {
    const invocations = await concurrentInvocationStore();
    const ledger = ledgerDouble();
    let reads = 0;
    const entries = ledger.table.entries.bind(ledger.table);
    ledger.table.entries = (subjectOfEntries) => {
      reads++;
      return entries(subjectOfEntries);
    };
    await runInvocation(invocations, 'invocation-1', async () => {
      await ledger.record(subject, erasure, disabled(1));
      // Another invocation starts meanwhile: its handler forgets what it remembers.
      await runInvocation(invocations, 'invocation-2', async () => forgetRememberedChains());
      await ledger.record(subject, erasure, disabled(2));
    });
    expect(reads).toBe(1);
    expect(ledger.table.rows.get(subject)?.map((entry) => entry.sequence)).toEqual([1, 2]);
  });

  it('never append from a chain another invocation read: an edit made in between is refused', async () => {
    const invocations = await concurrentInvocationStore();
    const ledger = ledgerDouble();
    await runInvocation(invocations, 'invocation-1', () => ledger.record(subject, erasure, disabled(1)));
    (ledger.table.rows.get(subject)![0]!.event as { outcome: string }).outcome = 'edited';
    await expect(runInvocation(invocations, 'invocation-2', () => ledger.record(subject, erasure, disabled(2)))).rejects.toMatchObject({ name: 'LedgerChainBroken' });
  });

  it('start again from the table once the invocation under way forgets its chains (a batch\'s next message)', async () => {
    const invocations = await concurrentInvocationStore();
    const ledger = ledgerDouble();
    await runInvocation(invocations, 'invocation-1', async () => {
      await ledger.record(subject, erasure, disabled(1));
      (ledger.table.rows.get(subject)![0]!.event as { outcome: string }).outcome = 'edited';
      forgetRememberedChains();
      await expect(ledger.record(subject, erasure, disabled(2))).rejects.toMatchObject({ name: 'LedgerChainBroken' });
    });
  });
});
