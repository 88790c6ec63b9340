import { describe, expect, it } from 'vitest';
import type { ErasureExecutions, ExecutionStatus } from '../../../functions/lib/aws/erasure-executions.ts';
import type { ErasureRequest } from '../../../functions/lib/erasure/closure-event.ts';
import { MAX_ATTEMPTS, startErasure } from '../../../functions/lib/erasure/erasure-start.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { erasureRequestFor } from '../../support/settings.ts';

const request: ErasureRequest = { ...erasureRequestFor('user-1'), eventId: 'event-1' };
const subject = request.subjectFingerprint;
const NOW = new Date('2026-11-28T10:00:00Z');

/** Step Functions as intake sees it: names already taken, each with its status. */
function executions(taken: Record<string, ExecutionStatus>): ErasureExecutions & { started: string[] } {
  const started: string[] = [];
  return {
    started,
    async start(name) {
      if (taken[name]) return { started: false, executionArn: `arn:execution:${name}` };
      started.push(name);
      taken[name] = 'RUNNING';
      return { started: true, executionArn: `arn:execution:${name}` };
    },
    async status(executionArn) {
      return taken[executionArn.replace('arn:execution:', '')] ?? 'RUNNING';
    },
  };
}

const first = `erasure-${subject}`;
const eventTypes = async (ledger: ReturnType<typeof ledgerDouble>) => (await ledger.read(subject)).entries.map((entry) => entry.event.type);

async function erased(ledger: ReturnType<typeof ledgerDouble>) {
  await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureStarted', eventId: 'event-0', executionName: first });
  await ledger.record(subject, `arn:execution:${first}`, { type: 'DeletionVerified', checkedAt: '2026-08-20T10:00:00Z', keys: [] });
  await ledger.record(subject, `arn:execution:${first}`, { type: 'CertificateIssued', certificateId: 'cert-1', certificate: {} });
}

describe('startErasure', () => {
  it('starts the first attempt under a name made from the fingerprint, and records the closure and the start', async () => {
    const sfn = executions({});
    const ledger = ledgerDouble();
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'started', executionName: first });
    expect(sfn.started).toEqual([first]);
    expect(await eventTypes(ledger)).toEqual(['ClosureReceived', 'ErasureStarted']);
  });

  it('starts nothing new for a subject already being erased', async () => {
    const sfn = executions({ [first]: 'RUNNING' });
    const ledger = ledgerDouble();
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'already-in-progress', executionName: first });
    expect(sfn.started).toEqual([]);
  });

  it('answers "already erased" with the date and the certificate, however old the erasure, starting nothing', async () => {
    const sfn = executions({});
    const ledger = ledgerDouble();
    await erased(ledger);
    const start = await startErasure(sfn, ledger, { ...request, eventId: 'event-replayed' }, new Date('2029-01-01T00:00:00Z'));
    expect(start).toEqual({ outcome: 'already-erased', executionArn: `arn:execution:${first}`, erasedAt: '2026-08-20T10:00:00Z', certificateId: 'cert-1' });
    expect(sfn.started).toEqual([]);
    expect((await eventTypes(ledger)).slice(-2)).toEqual(['ClosureReceived', 'ClosureDeclined']);
  });

  it('does not erase a subject under legal hold', async () => {
    const sfn = executions({});
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-1' });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'held', hold: { by: 'legal', reason: 'litigation' } });
    expect(sfn.started).toEqual([]);
  });

  it('erases once a hold has expired', async () => {
    const sfn = executions({});
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: '2026-11-01T00:00:00Z' }, { requestId: 'r-1' });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'started' });
  });

  it('waits for a release after a cancelled erasure, then starts a new one under a new name', async () => {
    const sfn = executions({ [first]: 'SUCCEEDED' });
    const ledger = ledgerDouble();
    await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureStarted', eventId: 'event-0', executionName: first });
    await ledger.record(subject, `arn:execution:${first}`, { type: 'ErasureCancelled', by: 'ops', reason: 'mistake', keys: [] });
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'awaiting-release', previous: { status: 'cancelled' } });
    expect(sfn.started).toEqual([]);

    await ledger.record(subject, null, { type: 'Released', by: 'ops', reason: 'confirmed' }, { requestId: 'r-1' });
    await expect(startErasure(sfn, ledger, { ...request, eventId: 'event-2' }, NOW)).resolves.toMatchObject({ outcome: 'started', executionName: `${first}-2` });
  });

  it("respects an operator's stop the ledger has not heard of yet: a redelivery does not restart the erasure", async () => {
    const sfn = executions({ [first]: 'ABORTED' });
    const ledger = ledgerDouble();
    await expect(startErasure(sfn, ledger, request, NOW)).resolves.toMatchObject({ outcome: 'awaiting-release' });
    expect(sfn.started).toEqual([]);
  });

  it('starts a fresh attempt after failed ones', async () => {
    const sfn = executions({ [first]: 'FAILED', [`${first}-2`]: 'TIMED_OUT' });
    await expect(startErasure(sfn, ledgerDouble(), request, NOW)).resolves.toMatchObject({ outcome: 'started', executionName: `${first}-3` });
  });

  it('stops with ErasureAttemptsExhausted after too many failed attempts', async () => {
    const ledger = ledgerDouble();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const arn = `arn:execution:${first}-${attempt}`;
      await ledger.record(subject, arn, { type: 'ErasureStarted', eventId: `event-${attempt}`, executionName: `${first}-${attempt}` });
      await ledger.record(subject, arn, { type: 'ErasureFailed', error: 'AwsServerError', message: 'down' });
    }
    await expect(startErasure(executions({}), ledger, request, NOW)).rejects.toMatchObject({ name: 'ErasureAttemptsExhausted' });
  });

  it('refuses to act on a ledger whose chain is broken', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-1' });
    ledger.table.rows.get(subject)!.splice(0, 1, { ...ledger.table.rows.get(subject)![0]!, event: { type: 'Released', by: 'x', reason: 'x' } });
    const sfn = executions({});
    await expect(startErasure(sfn, ledger, request, NOW)).rejects.toMatchObject({ name: 'LedgerChainBroken' });
    expect(sfn.started).toEqual([]);
  });

  it('starts one erasure and records one start when two deliveries of the closure race', async () => {
    const sfn = executions({});
    const ledger = ledgerDouble();
    const starts = await Promise.all([startErasure(sfn, ledger, request, NOW), startErasure(sfn, ledger, request, NOW)]);
    expect(starts.map((start) => start.outcome).sort()).toEqual(['already-in-progress', 'started']);
    expect(sfn.started).toEqual([first]);
    expect((await eventTypes(ledger)).sort()).toEqual(['ClosureReceived', 'ErasureStarted']);
  });
});
