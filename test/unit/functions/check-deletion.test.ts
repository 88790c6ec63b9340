import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTimeSource } from '../../../functions/lib/runtime/clock.ts';
import { invoke } from '../../support/invoke.ts';
import { KmsDouble, arnOf, type KeyRecord } from '../../support/kms-double.ts';
import { mockLedgerTable } from '../../support/ledger-mock.ts';
import { EXECUTION_ARN, erasureRequestFor, useFunctionEnvironment } from '../../support/settings.ts';

const ledger = mockLedgerTable();
let checkDeletion: typeof import('../../../functions/check-deletion.ts').handler;

beforeAll(async () => {
  useFunctionEnvironment();
  ({ handler: checkDeletion } = await import('../../../functions/check-deletion.ts'));
});

const request = erasureRequestFor('tenant-7');
const DUE = new Date('2026-12-01T00:00:00Z');
const scheduled = (key: KeyRecord) => ({ keyId: key.keyId, keyArn: arnOf(key), keyState: 'PendingDeletion', deletionDate: DUE.toISOString(), pendingWindowDays: 7, alreadyScheduled: false });

describe('checkDeletion for an erasure of several keys', () => {
  let kms: KmsDouble;
  let restoreClock: () => void;
  beforeEach(() => {
    kms = new KmsDouble();
    restoreClock = useTimeSource({ now: () => new Date('2026-12-01T06:00:00Z') });
  });
  afterEach(() => {
    restoreClock();
    kms.restore();
    ledger.reset();
  });

  it('records no verified deletion, the proof a certificate is built from, while one key is still pending deletion', async () => {
    const keys = [1, 2, 3].map(() => kms.addKey({ subjectId: 'tenant-7', keyState: 'PendingDeletion', deletionDate: DUE }));
    kms.deleteKey(keys[0]!);
    kms.deleteKey(keys[2]!);

    const verification = await invoke(checkDeletion, { execution: EXECUTION_ARN, request, keys: keys.map(scheduled) });

    expect(verification).toMatchObject({ status: 'Pending' });
    expect(ledger.eventTypes(request.subjectFingerprint)).toEqual([]);
  });

  it('records the verified deletion of every key once the last of them is gone', async () => {
    const keys = [1, 2, 3].map(() => kms.addKey({ subjectId: 'tenant-7', keyState: 'PendingDeletion', deletionDate: DUE }));
    for (const key of keys) kms.deleteKey(key);

    const verification = await invoke(checkDeletion, { execution: EXECUTION_ARN, request, keys: keys.map(scheduled) });

    expect(verification).toMatchObject({ status: 'Deleted' });
    expect(ledger.table.rows.get(request.subjectFingerprint)?.map((entry) => entry.event)).toEqual([
      { type: 'DeletionVerified', checkedAt: '2026-12-01T06:00:00.000Z', keys: keys.map((key) => ({ keyArn: arnOf(key), verifiedDeletedAt: '2026-12-01T06:00:00.000Z' })) },
    ]);
  });
});
