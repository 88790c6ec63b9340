import { describe, expect, it } from 'vitest';
import { holdBinds } from '../../../functions/lib/ledger/subject-record.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';

const subject = 'c'.repeat(32);
const erasure = (n: number) => `arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-c-${n}`;
const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/k-1';

async function started(ledger: ReturnType<typeof ledgerDouble>, n: number) {
  await ledger.record(subject, null, { type: 'ClosureReceived', eventId: `e-${n}`, source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' });
  await ledger.record(subject, erasure(n), { type: 'ErasureStarted', eventId: `e-${n}`, executionName: `erasure-c-${n}` });
  await ledger.record(subject, erasure(n), { type: 'KeysResolved', keys: [{ keyArn, keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
}

describe('a subject record folded from the ledger', () => {
  it('counts an erasure completed once KMS has verified every key deleted, certificate or not', async () => {
    const ledger = ledgerDouble();
    await started(ledger, 1);
    await ledger.record(subject, erasure(1), { type: 'DeletionVerified', checkedAt: '2026-12-21T10:00:00Z', keys: [{ keyArn, verifiedDeletedAt: '2026-12-21T10:00:00Z' }] });
    const record = await ledger.read(subject);
    expect(record.erased).toMatchObject({ erasure: erasure(1), status: 'completed', endedAt: '2026-12-21T10:00:00Z', certificateId: null });
  });

  it('never reports a cancelled erasure as completed, and waits for a release after it', async () => {
    const ledger = ledgerDouble();
    await started(ledger, 1);
    await ledger.record(subject, erasure(1), { type: 'ErasureCancelled', by: 'ops@example.com', reason: 'mistaken closure', keys: [{ keyArn, keyState: 'Disabled' }] });
    // The execution's own end comes later, and must not rewrite why it ended.
    await ledger.record(subject, erasure(1), { type: 'ExecutionEnded', status: 'ABORTED', error: null, cause: null, stoppedAt: '2026-11-21T00:00:00Z' });
    const record = await ledger.read(subject);
    expect(record.erased).toBeNull();
    expect(record.awaitingRelease).toMatchObject({ status: 'cancelled', endReason: 'cancelled by ops@example.com: mistaken closure' });

    await ledger.record(subject, null, { type: 'Released', by: 'ops@example.com', reason: 'closure confirmed' }, { requestId: 'r-1' });
    expect((await ledger.read(subject)).awaitingRelease).toBeNull();
  });

  it("tells an operator's cancel from a bare stop, whichever the ledger heard of first", async () => {
    const ledger = ledgerDouble();
    await started(ledger, 1);
    await ledger.record(subject, erasure(1), { type: 'ExecutionEnded', status: 'ABORTED', error: 'ErasureCancelled', cause: null, stoppedAt: '2026-11-21T00:00:00Z' });
    await ledger.record(subject, erasure(1), { type: 'ErasureCancelled', by: 'ops', reason: 'mistaken closure', keys: [] });
    expect((await ledger.read(subject)).awaitingRelease).toMatchObject({ status: 'cancelled', endReason: 'cancelled by ops: mistaken closure' });
  });

  it('treats an execution stopped by someone as awaiting release', async () => {
    const ledger = ledgerDouble();
    await started(ledger, 1);
    await ledger.record(subject, erasure(1), { type: 'ExecutionEnded', status: 'ABORTED', error: 'Stopped', cause: 'by hand', stoppedAt: '2026-11-21T00:00:00Z' });
    expect((await ledger.read(subject)).awaitingRelease).toMatchObject({ status: 'stopped', endReason: 'Stopped' });
  });

  it('counts failed and timed-out attempts until a release', async () => {
    const ledger = ledgerDouble();
    await started(ledger, 1);
    await ledger.record(subject, erasure(1), { type: 'ErasureFailed', error: 'AwsServerError', message: 'KMS unavailable' });
    await started(ledger, 2);
    await ledger.record(subject, erasure(2), { type: 'ExecutionEnded', status: 'TIMED_OUT', error: 'States.Timeout', cause: null, stoppedAt: '2026-11-22T00:00:00Z' });
    expect((await ledger.read(subject)).failedAttempts).toBe(2);
    await ledger.record(subject, null, { type: 'Released', by: 'ops', reason: 'fixed' }, { requestId: 'r-1' });
    expect((await ledger.read(subject)).failedAttempts).toBe(0);
  });

  it('keeps a legal hold binding until it is released or its date passes', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: '2027-06-01T00:00:00Z' }, { requestId: 'r-1' });
    const { hold } = await ledger.read(subject);
    expect(holdBinds(hold, new Date('2027-05-31T23:59:59Z'))).toBe(true);
    expect(holdBinds(hold, new Date('2027-06-01T00:00:00Z'))).toBe(false);
    await ledger.record(subject, null, { type: 'Released', by: 'legal', reason: 'settled' }, { requestId: 'r-2' });
    expect((await ledger.read(subject)).hold).toBeNull();
  });
});
