import { describe, expect, it } from 'vitest';
import type { ErasureRequest } from '../../../functions/lib/erasure/closure-event.ts';
import { MAX_ATTEMPTS, recordExecutionStart, startErasure } from '../../../functions/lib/erasure/erasure-start.ts';
import { erasureExecutionsDouble } from '../../support/erasure-executions-double.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { erasureRequestFor } from '../../support/settings.ts';

const request: ErasureRequest = { ...erasureRequestFor('user-1'), eventId: 'event-1' };
const subject = request.subjectFingerprint;
const NOW = new Date('2026-11-28T10:00:00Z');

const first = `erasure-${subject}`;
const eventTypes = async (ledger: ReturnType<typeof ledgerDouble>) => (await ledger.read(subject)).entries.map((entry) => entry.event.type);

/** A ledger whose first entry was rewritten after it was chained: what tampering looks like. */
async function tamperedLedger() {
  const ledger = ledgerDouble();
  await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-1' });
  const rows = ledger.table.rows.get(subject)!;
  rows.splice(0, 1, { ...rows[0]!, event: { type: 'Released', by: 'x', reason: 'x' } });
  return ledger;
}

async function erased(ledger: ReturnType<typeof ledgerDouble>) {
  await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureStarted', eventId: 'event-0', executionName: first });
  await ledger.record(subject, `arn:execution:${first}`, { type: 'DeletionVerified', checkedAt: '2026-08-20T10:00:00Z', keys: [] });
  await ledger.record(subject, `arn:execution:${first}`, { type: 'CertificateIssued', certificateId: 'cert-1', certificate: {} });
}

describe('startErasure', () => {
  it('starts the first attempt under a name made from the fingerprint, and records the closure and the start', async () => {
    const sfn = erasureExecutionsDouble({});
    const ledger = ledgerDouble();
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'started', executionName: first });
    expect(sfn.started).toEqual([first]);
    expect(await eventTypes(ledger)).toEqual(['ClosureReceived', 'ErasureStarted']);
  });

  it('starts nothing new for a subject already being erased', async () => {
    const sfn = erasureExecutionsDouble({ [first]: 'RUNNING' });
    const ledger = ledgerDouble();
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'already-in-progress', executionName: first });
    expect(sfn.started).toEqual([]);
  });

  it('answers "already erased" with the date and the certificate, however old the erasure, starting nothing', async () => {
    const sfn = erasureExecutionsDouble({});
    const ledger = ledgerDouble();
    await erased(ledger);
    const start = await startErasure(sfn, ledger, { ...request, eventId: 'event-replayed' }, new Date('2029-01-01T00:00:00Z'));
    expect(start).toEqual({ outcome: 'already-erased', executionArn: `arn:execution:${first}`, erasedAt: '2026-08-20T10:00:00Z', certificateId: 'cert-1' });
    expect(sfn.started).toEqual([]);
    expect((await eventTypes(ledger)).slice(-2)).toEqual(['ClosureReceived', 'ClosureDeclined']);
  });

  it('does not erase a subject under legal hold', async () => {
    const sfn = erasureExecutionsDouble({});
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-1' });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'held', hold: { by: 'legal', reason: 'litigation' } });
    expect(sfn.started).toEqual([]);
  });

  it('erases once a hold has expired', async () => {
    const sfn = erasureExecutionsDouble({});
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: '2026-11-01T00:00:00Z' }, { requestId: 'r-1' });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'started' });
  });

  it('waits for a release after a cancelled erasure, then starts a new one under a new name', async () => {
    const sfn = erasureExecutionsDouble({ [first]: 'SUCCEEDED' });
    const ledger = ledgerDouble();
    await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureStarted', eventId: 'event-0', executionName: first });
    await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureCancelled', by: 'ops', reason: 'mistake', keys: [] });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'awaiting-release', previous: { status: 'cancelled' } });
    expect(sfn.started).toEqual([]);

    await ledger.record(subject, null, { type: 'Released', by: 'ops', reason: 'confirmed' }, { requestId: 'r-1' });
    await expect(startErasure(sfn, ledger, { ...request, eventId: 'event-2' }, NOW)).resolves.toMatchObject({ outcome: 'started', executionName: `${first}-2` });
  });

  it("respects an operator's stop the ledger has not heard of yet: a redelivery does not restart the erasure", async () => {
    const sfn = erasureExecutionsDouble({ [first]: 'ABORTED' });
    const ledger = ledgerDouble();
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'awaiting-release' });
    expect(sfn.started).toEqual([]);
  });

  it('starts a fresh attempt after failed ones', async () => {
    const sfn = erasureExecutionsDouble({ [first]: 'FAILED', [`${first}-2`]: 'TIMED_OUT' });
    await expect(startErasure(sfn, ledgerDouble(), request, NOW)).resolves.toMatchObject({ outcome: 'started', executionName: `${first}-3` });
  });

  it('stops with ErasureAttemptsExhausted after too many failed attempts', async () => {
    const ledger = ledgerDouble();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const arn = `arn:execution:${first}-${attempt}`;
      await ledger.record(subject, arn, { type: 'ErasureStarted', eventId: `event-${attempt}`, executionName: `${first}-${attempt}` });
      await ledger.record(subject, arn, { type: 'ErasureFailed', error: 'AwsServerError', message: 'down' });
    }
    const sfn = erasureExecutionsDouble({});
    await expect(startErasure(sfn, ledger, request, NOW)).rejects.toMatchObject({
      name: 'ErasureAttemptsExhausted',
      message: `subject ${subject}: ${MAX_ATTEMPTS} erasure attempts already failed; investigate, then release the subject to try again`,
    });
    expect(sfn.started).toEqual([]);
  });

  it('stops with ErasureAttemptsExhausted, starting nothing, when every name it may try has ended without the ledger hearing', async () => {
    const taken = Object.fromEntries(Array.from({ length: MAX_ATTEMPTS }, (_, index) => [index === 0 ? first : `${first}-${index + 1}`, 'FAILED' as const]));
    const sfn = erasureExecutionsDouble(taken);
    await expect(startErasure(sfn, ledgerDouble(), request, NOW)).rejects.toMatchObject({
      name: 'ErasureAttemptsExhausted',
      message: `subject ${subject}: no free execution name after ${MAX_ATTEMPTS} attempts; investigate before replaying`,
    });
    expect(sfn.started).toEqual([]);
  });

  it('finds a second erasure under way again under its own name, not the first one stopped before the release', async () => {
    const second = `${first}-2`;
    const sfn = erasureExecutionsDouble({ [first]: 'ABORTED', [second]: 'RUNNING' });
    const ledger = ledgerDouble();
    await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureStarted', eventId: 'event-0', executionName: first });
    await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureCancelled', by: 'ops', reason: 'mistake', keys: [] });
    await ledger.record(subject, null, { type: 'Released', by: 'ops', reason: 'confirmed' }, { requestId: 'r-1' });
    await ledger.record(subject, `arn:execution:${second}`, { type: 'ErasureStarted', eventId: 'event-1', executionName: second });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toEqual({ outcome: 'already-in-progress', executionName: second, executionArn: `arn:execution:${second}` });
    expect(sfn.started).toEqual([]);
  });

  it('refuses to act on a ledger whose chain is broken, saying where', async () => {
    const ledger = await tamperedLedger();
    const sfn = erasureExecutionsDouble({});
    await expect(startErasure(sfn, ledger, request, NOW)).rejects.toMatchObject({ name: 'LedgerChainBroken', message: `the ledger of subject ${subject} is broken at entry 1: entry 1 was altered after it was recorded` });
    expect(sfn.started).toEqual([]);
  });

  it('starts one erasure and records one start when two deliveries of the closure race', async () => {
    const sfn = erasureExecutionsDouble({});
    const ledger = ledgerDouble();
    const starts = await Promise.all([startErasure(sfn, ledger, request, NOW), startErasure(sfn, ledger, request, NOW)]);
    expect(starts.map((start) => start.outcome).sort()).toEqual(['already-in-progress', 'started']);
    expect(sfn.started).toEqual([first]);
    expect((await eventTypes(ledger)).sort()).toEqual(['ClosureReceived', 'ErasureStarted']);
  });
});

describe('recordExecutionStart', () => {
  const execution = `arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:${first}`;

  it('records the closure and the erasure under its execution name, for an execution started by hand', async () => {
    const ledger = ledgerDouble();
    await recordExecutionStart(ledger, request, execution, NOW);
    const record = await ledger.read(subject);
    expect(record.entries.map((entry) => entry.event)).toEqual([
      { type: 'ClosureReceived', eventId: request.eventId, source: request.source, closedAt: request.closedAt },
      { type: 'ErasureStarted', eventId: request.eventId, executionName: first },
    ]);
    expect(record.erasures).toMatchObject([{ erasure: execution, status: 'running' }]);
  });

  it('refuses a subject under legal hold with SubjectUnderLegalHold, naming who placed it, before any key is touched', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-1' });
    await expect(recordExecutionStart(ledger, request, execution, NOW)).rejects.toMatchObject({
      name: 'SubjectUnderLegalHold',
      message: `subject ${subject} is under a legal hold placed by legal on 2026-11-28T10:00:00.000Z; release it before erasing`,
    });
    expect(await eventTypes(ledger)).toEqual(['LegalHoldPlaced']);
  });

  it('refuses to act on a ledger whose chain is broken, saying where', async () => {
    const ledger = await tamperedLedger();
    await expect(recordExecutionStart(ledger, request, execution, NOW)).rejects.toMatchObject({
      name: 'LedgerChainBroken',
      message: `the ledger of subject ${subject} is broken at entry 1: entry 1 was altered after it was recorded`,
    });
  });
});
