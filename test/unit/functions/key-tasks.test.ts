import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTimeSource } from '../../../functions/lib/runtime/clock.ts';
import { invoke } from '../../support/invoke.ts';
import { KmsDouble, arnOf } from '../../support/kms-double.ts';
import { mockLedgerTable } from '../../support/ledger-mock.ts';
import { EXECUTION_ARN, erasureRequestFor, useFunctionEnvironment } from '../../support/settings.ts';

const ledger = mockLedgerTable();
let resolveKeys: typeof import('../../../functions/resolve-keys.ts').handler;
let checkDeletion: typeof import('../../../functions/check-deletion.ts').handler;

beforeAll(async () => {
  useFunctionEnvironment();
  ({ handler: resolveKeys } = await import('../../../functions/resolve-keys.ts'));
  ({ handler: checkDeletion } = await import('../../../functions/check-deletion.ts'));
});

const request = erasureRequestFor('user-1');
const execution = EXECUTION_ARN;

describe('key task handlers', () => {
  let kms: KmsDouble;
  beforeEach(() => {
    kms = new KmsDouble();
  });
  afterEach(() => {
    kms.restore();
    ledger.reset();
  });

  it('resolveKeys returns the authorised keys', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    await expect(invoke(resolveKeys, { execution, request })).resolves.toEqual([expect.objectContaining({ keyArn: arnOf(key) })]);
    expect(ledger.table.rows.get(request.subjectFingerprint)?.map((entry) => entry.event)).toEqual([
      { type: 'ClosureReceived', eventId: request.eventId, source: request.source, closedAt: request.closedAt },
      { type: 'ErasureStarted', eventId: request.eventId, executionName: 'erasure-1' },
      { type: 'KeysResolved', keys: [expect.objectContaining({ keyArn: arnOf(key), origin: 'AWS_KMS' })] },
    ]);
  });

  it('resolveKeys refuses a subject under legal hold before looking at any key, however the execution was started', async () => {
    kms.addKey({ subjectId: 'user-1' });
    const { erasureLedger } = await import('../../../functions/lib/ledger/ledger.ts');
    await erasureLedger(ledger.table, () => new Date()).record(request.subjectFingerprint, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-1' });
    await expect(invoke(resolveKeys, { execution, request })).rejects.toMatchObject({ name: 'SubjectUnderLegalHold' });
    expect(kms.calls('DescribeKey')).toBe(0);
  });

  it("resolveKeys refuses another subject's key by name, with nothing disabled", async () => {
    kms.addKey({ alias: 'alias/erasure/subject/user-1', tags: { 'erasure:subject': 'user-2' } });
    await expect(invoke(resolveKeys, { execution, request })).rejects.toMatchObject({ name: 'KeyNotOwnedBySubject' });
    expect(kms.calls('DisableKey')).toBe(0);
  });

  it('resolveKeys accepts only keys in the account it runs in, by default', async () => {
    kms.addKey({ subjectId: 'user-1', accountId: '999988887777' });
    await expect(invoke(resolveKeys, { execution, request })).rejects.toMatchObject({ name: 'KeyInForeignAccount' });
  });

  it('a task refuses input the state machine should never send', async () => {
    await expect(invoke(resolveKeys, { execution })).rejects.toMatchObject({ name: 'ParseError' });
  });

  it('checkDeletion records the verified deletion in the ledger once KMS no longer knows the key', async () => {
    const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';
    const restore = useTimeSource({ now: () => new Date('2026-12-02T00:00:00Z') });
    try {
      const keys = [{ keyId: '11111111-2222-3333-4444-555555555555', keyArn, keyState: 'PendingDeletion', deletionDate: '2026-12-01T00:00:00.000Z', pendingWindowDays: 7, alreadyScheduled: false }];
      await expect(invoke(checkDeletion, { execution, request, keys })).resolves.toMatchObject({ status: 'Deleted' });
      expect(ledger.table.rows.get(request.subjectFingerprint)?.map((entry) => entry.event)).toEqual([
        { type: 'DeletionVerified', checkedAt: '2026-12-02T00:00:00.000Z', keys: [{ keyArn, verifiedDeletedAt: '2026-12-02T00:00:00.000Z' }] },
      ]);
    } finally {
      restore();
    }
  });

  it('checkDeletion reads the time from the clock module', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date('2026-12-01T00:00:00Z') });
    const restore = useTimeSource({ now: () => new Date('2026-11-25T00:00:00Z') });
    try {
      const verification = await invoke(checkDeletion, {
        execution,
        request,
        keys: [{ keyId: key.keyId, keyArn: arnOf(key), keyState: 'PendingDeletion', deletionDate: '2026-12-01T00:00:00.000Z', pendingWindowDays: 7, alreadyScheduled: false }],
      });
      expect(verification).toMatchObject({ status: 'Pending', checkedAt: '2026-11-25T00:00:00.000Z', nextCheckAt: '2026-12-01T00:00:00Z' });
      expect(ledger.eventTypes(request.subjectFingerprint)).toEqual([]);
    } finally {
      restore();
    }
  });
});
