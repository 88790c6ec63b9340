import { KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import type { ScheduledKey } from '../../../functions/lib/erasure/deletion-scheduling.ts';
import { OVERDUE_AFTER_MS, RECHECK_INTERVAL_MS, firstCheckAt, verifyErasure, wholeSecondsAfter } from '../../../functions/lib/erasure/deletion-verification.ts';
import { useTimeSource } from '../../../functions/lib/runtime/clock.ts';
import { KmsDouble, arnOf, type KeyRecord } from '../../support/kms-double.ts';

const NOW = new Date('2026-12-01T12:00:00.250Z');
const DAY = 86_400_000;

function scheduledKey(key: KeyRecord): ScheduledKey {
  return {
    keyId: key.keyId,
    keyArn: arnOf(key),
    keyState: 'PendingDeletion',
    deletionDate: key.deletionDate?.toISOString() ?? null,
    pendingWindowDays: 7,
    alreadyScheduled: false,
  };
}

describe('verifyErasure', () => {
  let kms: KmsDouble;
  const keys = () => kmsKeys(new KMSClient({ region: 'eu-west-1' }));
  beforeEach(() => {
    kms = new KmsDouble();
  });
  afterEach(() => kms.restore());

  it('proves deletion by NotFoundException', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() - DAY) });
    const scheduled = scheduledKey(key);
    kms.deleteKey(key);
    const verification = await verifyErasure(keys(), [scheduled], NOW);
    expect(verification).toMatchObject({ status: 'Deleted', nextCheckAt: null, checkedAt: NOW.toISOString() });
    expect(verification.keys[0]?.fate).toBe('Deleted');
  });

  it('waits until the deletion date while the key is pending', async () => {
    const deletionDate = new Date(NOW.getTime() + 7 * DAY);
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    const verification = await verifyErasure(keys(), [scheduledKey(key)], NOW);
    expect(verification).toMatchObject({ status: 'Pending', nextCheckAt: wholeSecondsAfter(deletionDate.getTime()) });
  });

  it('waits for the latest deletion date of several keys', async () => {
    const early = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + 2 * DAY) });
    const late = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + 9 * DAY) });
    const verification = await verifyErasure(keys(), [scheduledKey(early), scheduledKey(late)], NOW);
    expect(verification.nextCheckAt).toBe(wholeSecondsAfter(NOW.getTime() + 9 * DAY));
  });

  it('checks again after a bounded interval when KMS is late', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() - 3_600_000) });
    const verification = await verifyErasure(keys(), [scheduledKey(key)], NOW);
    expect(verification.status).toBe('Pending');
    expect(Date.parse(verification.nextCheckAt ?? '')).toBe(Math.ceil((NOW.getTime() + RECHECK_INTERVAL_MS) / 1000) * 1000);
  });

  it('backs off as long again as KMS has been late', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() - 5 * 3_600_000) });
    const verification = await verifyErasure(keys(), [scheduledKey(key)], NOW);
    expect(verification.nextCheckAt).toBe(wholeSecondsAfter(NOW.getTime() + 5 * 3_600_000));
  });

  it('checks a handful of times, not hourly, when KMS deletes the key a day late', async () => {
    const deletionDate = new Date(NOW.getTime() + 7 * DAY);
    kms.restore();
    kms = new KmsDouble({ deleteWhenDue: true, deletionLagMs: DAY });
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    let checkAt = Date.parse(firstCheckAt([scheduledKey(key)], NOW));
    const restore = useTimeSource({ now: () => new Date(checkAt) });
    try {
      let checks = 1;
      let verification = await verifyErasure(keys(), [scheduledKey(key)], new Date(checkAt));
      while (verification.status === 'Pending') {
        checkAt = Date.parse(verification.nextCheckAt ?? '');
        checks++;
        verification = await verifyErasure(keys(), [scheduledKey(key)], new Date(checkAt));
      }
      expect(verification.status).toBe('Deleted');
      expect(checks).toBeLessThanOrEqual(7);
      // Found deleted no later than a day after KMS did it.
      expect(checkAt - (deletionDate.getTime() + DAY)).toBeLessThanOrEqual(DAY);
    } finally {
      restore();
    }
  });

  it('gives up with DeletionOverdue when the key outlives its date by far more than 24 hours', async () => {
    const key = kms.addKey({
      subjectId: 'user-1',
      keyState: 'PendingDeletion',
      deletionDate: new Date(NOW.getTime() - OVERDUE_AFTER_MS - 1000),
    });
    await expect(verifyErasure(keys(), [scheduledKey(key)], NOW)).rejects.toMatchObject({ name: 'DeletionOverdue' });
  });

  it('tells on-call which key is overdue and by how many hours', async () => {
    const deletionDate = new Date(NOW.getTime() - 49 * 3_600_000);
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    await expect(verifyErasure(keys(), [scheduledKey(key)], NOW)).rejects.toMatchObject({
      name: 'DeletionOverdue',
      message: `key ${arnOf(key)} is still pending deletion 49 hours after its deletion date ${deletionDate.toISOString()}`,
    });
  });

  it('is not yet overdue exactly 48 hours after the deletion date: it looks once more an hour later', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() - OVERDUE_AFTER_MS) });
    const verification = await verifyErasure(keys(), [scheduledKey(key)], NOW);
    expect(verification).toMatchObject({ status: 'Pending', nextCheckAt: wholeSecondsAfter(NOW.getTime() + RECHECK_INTERVAL_MS) });
  });

  it('looks again just past the point a late key becomes overdue, not as late again', async () => {
    const deletionDate = new Date(NOW.getTime() - 32 * 3_600_000);
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    const verification = await verifyErasure(keys(), [scheduledKey(key)], NOW);
    expect(verification.nextCheckAt).toBe(wholeSecondsAfter(deletionDate.getTime() + OVERDUE_AFTER_MS + RECHECK_INTERVAL_MS));
  });

  it('looks again an hour later, not at once, when it checks at the very deletion date', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: NOW });
    const verification = await verifyErasure(keys(), [scheduledKey(key)], NOW);
    expect(verification).toMatchObject({ status: 'Pending', nextCheckAt: wholeSecondsAfter(NOW.getTime() + RECHECK_INTERVAL_MS) });
  });

  it('looks again in an hour when KMS names no deletion date for a key pending deletion', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + DAY) });
    const undated = { describeKey: async (keyArn: string) => ({ ...(await keys().describeKey(keyArn))!, deletionDate: undefined }) };
    const verification = await verifyErasure(undated, [scheduledKey(key)], NOW);
    expect(verification).toMatchObject({ status: 'Pending', nextCheckAt: wholeSecondsAfter(NOW.getTime() + RECHECK_INTERVAL_MS) });
  });

  it('does not count a key already deleted as late, however long ago its date passed', async () => {
    const gone = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() - 10 * DAY) });
    const pending = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + 20 * DAY) });
    const scheduled = [scheduledKey(gone), scheduledKey(pending)];
    kms.deleteKey(gone);
    const verification = await verifyErasure(keys(), scheduled, NOW);
    expect(verification).toMatchObject({ status: 'Pending', nextCheckAt: wholeSecondsAfter(NOW.getTime() + 20 * DAY) });
  });

  it('reports a cancelled deletion when the key is no longer pending', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + DAY) });
    const scheduled = scheduledKey(key);
    kms.cancelDeletion(key);
    const verification = await verifyErasure(keys(), [scheduled], NOW);
    expect(verification).toMatchObject({ status: 'Cancelled', nextCheckAt: null });
    expect(verification.keys[0]).toMatchObject({ fate: 'DeletionCancelled', keyState: 'Disabled' });
  });

  it('reports cancelled when one key is deleted and another was cancelled', async () => {
    const gone = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: NOW });
    const kept = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: NOW });
    const scheduled = [scheduledKey(gone), scheduledKey(kept)];
    kms.deleteKey(gone);
    kms.cancelDeletion(kept);
    await expect(verifyErasure(keys(), scheduled, NOW)).resolves.toMatchObject({ status: 'Cancelled' });
  });

  it('waits a full window for a multi-Region primary waiting on its replicas', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingReplicaDeletion' });
    const verification = await verifyErasure(keys(), [{ ...scheduledKey(key), deletionDate: null }], NOW);
    expect(verification.status).toBe('Pending');
    expect(verification.nextCheckAt).toBe(wholeSecondsAfter(NOW.getTime() + 7 * DAY));
  });

  describe('of a multi-Region family', () => {
    const PRIMARY = 'arn:aws:kms:eu-west-1:111122223333:key/mrk-1';
    const REPLICA = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1';
    const LATE_REPLICA = 'arn:aws:kms:ap-southeast-2:111122223333:key/mrk-1';
    const member = (keyArn: string, deletionDate: Date | null, pendingWindowDays = 30): ScheduledKey => ({
      keyId: 'mrk-1',
      keyArn,
      keyState: deletionDate ? 'PendingDeletion' : 'PendingReplicaDeletion',
      deletionDate: deletionDate?.toISOString() ?? null,
      pendingWindowDays,
      alreadyScheduled: false,
    });
    // What KMS answers of each member, by ARN, each in its own Region; absent: deleted.
    const kmsAnswering = (states: Record<string, { keyState: string; deletionDate?: Date; replicaArns?: string[] }>) => ({
      async describeKey(keyArn: string) {
        const state = states[keyArn];
        if (!state) return undefined;
        return {
          keyId: 'mrk-1',
          keyArn,
          accountId: '111122223333',
          keyManager: 'CUSTOMER',
          keyState: state.keyState,
          origin: 'AWS_KMS',
          multiRegion: true,
          deletionDate: state.deletionDate,
          family: { role: keyArn === PRIMARY ? ('PRIMARY' as const) : ('REPLICA' as const), primaryArn: PRIMARY, replicaArns: state.replicaArns ?? [] },
        };
      },
    });

    it("waits for the primary a full window after its replicas' latest deletion date, not from now", async () => {
      const replicaDue = new Date(NOW.getTime() + 20 * DAY);
      const kms = kmsAnswering({
        [REPLICA]: { keyState: 'PendingDeletion', deletionDate: replicaDue },
        [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: [REPLICA] },
      });
      const verification = await verifyErasure(kms, [member(REPLICA, replicaDue), member(PRIMARY, null)], NOW);
      expect(verification.status).toBe('Pending');
      expect(verification.nextCheckAt).toBe(wholeSecondsAfter(replicaDue.getTime() + 30 * DAY));
    });

    it('completes only when every member is gone, whatever order KMS deletes them in', async () => {
      const due = new Date(NOW.getTime() - DAY);
      const scheduled = [member(REPLICA, due), member(LATE_REPLICA, due), member(PRIMARY, null)];
      const primaryLeft = kmsAnswering({ [PRIMARY]: { keyState: 'PendingDeletion', deletionDate: NOW } });
      const replicaLeft = kmsAnswering({ [LATE_REPLICA]: { keyState: 'PendingDeletion', deletionDate: due }, [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: [LATE_REPLICA] } });
      expect((await verifyErasure(primaryLeft, scheduled, NOW)).status).toBe('Pending');
      expect((await verifyErasure(replicaLeft, scheduled, NOW)).status).toBe('Pending');
      expect((await verifyErasure(kmsAnswering({}), scheduled, NOW)).status).toBe('Deleted');
    });

    it('watches a late replica rather than jumping a full window ahead for the primary', async () => {
      const lateSince = new Date(NOW.getTime() - 2 * 3_600_000);
      const kms = kmsAnswering({
        [REPLICA]: { keyState: 'PendingDeletion', deletionDate: lateSince },
        [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: [REPLICA] },
      });
      const verification = await verifyErasure(kms, [member(REPLICA, lateSince), member(PRIMARY, null)], NOW);
      expect(Date.parse(verification.nextCheckAt ?? '')).toBeLessThanOrEqual(NOW.getTime() + 3 * 3_600_000);
    });

    it("waits for the primary its own window, not another key's", async () => {
      const replicaDue = new Date(NOW.getTime() + 20 * DAY);
      const kms = kmsAnswering({
        [REPLICA]: { keyState: 'PendingDeletion', deletionDate: replicaDue },
        [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: [REPLICA] },
      });
      const verification = await verifyErasure(kms, [member(REPLICA, replicaDue, 7), member(PRIMARY, null, 30)], NOW);
      expect(verification.nextCheckAt).toBe(wholeSecondsAfter(replicaDue.getTime() + 30 * DAY));
    });

    it('watches a replica due this very instant rather than jumping a full window ahead for the primary', async () => {
      const kms = kmsAnswering({
        [REPLICA]: { keyState: 'PendingDeletion', deletionDate: NOW },
        [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: [REPLICA] },
      });
      const verification = await verifyErasure(kms, [member(REPLICA, NOW), member(PRIMARY, null)], NOW);
      expect(verification.nextCheckAt).toBe(wholeSecondsAfter(NOW.getTime() + RECHECK_INTERVAL_MS));
    });

    it('names the waiting primary and every replica the erasure never scheduled', async () => {
      const SECOND_LATE_REPLICA = 'arn:aws:kms:sa-east-1:111122223333:key/mrk-1';
      const due = new Date(NOW.getTime() + DAY);
      const family = [REPLICA, LATE_REPLICA, SECOND_LATE_REPLICA];
      // A replica's configuration lists every replica of the family, itself included.
      const kms = kmsAnswering({
        [REPLICA]: { keyState: 'PendingDeletion', deletionDate: due, replicaArns: family },
        [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: family },
      });
      await expect(verifyErasure(kms, [member(REPLICA, due), member(PRIMARY, null)], NOW)).rejects.toMatchObject({
        name: 'ReplicaOutsideErasure',
        message: `multi-Region key ${PRIMARY} waits for replicas this erasure did not schedule: ${LATE_REPLICA}, ${SECOND_LATE_REPLICA}`,
      });
    });

    it('fails with ReplicaOutsideErasure when the primary waits for a replica the erasure never scheduled', async () => {
      const kms = kmsAnswering({
        [REPLICA]: { keyState: 'PendingDeletion', deletionDate: new Date(NOW.getTime() + DAY) },
        [PRIMARY]: { keyState: 'PendingReplicaDeletion', replicaArns: [REPLICA, LATE_REPLICA] },
      });
      await expect(verifyErasure(kms, [member(REPLICA, new Date(NOW.getTime() + DAY)), member(PRIMARY, null)], NOW)).rejects.toMatchObject({
        name: 'ReplicaOutsideErasure',
        message: expect.stringContaining(LATE_REPLICA),
      });
    });
  });

  it('writes check times as RFC 3339 with upper-case T and Z and whole seconds', () => {
    expect(wholeSecondsAfter(Date.parse('2026-12-01T12:00:00.001Z'))).toBe('2026-12-01T12:00:01Z');
  });
});

describe('firstCheckAt', () => {
  const key = (deletionDate: string | null, pendingWindowDays = 7): ScheduledKey => ({
    keyId: 'k',
    keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k',
    keyState: deletionDate ? 'PendingDeletion' : 'PendingReplicaDeletion',
    deletionDate,
    pendingWindowDays,
    alreadyScheduled: false,
  });

  it('is the latest deletion date of the keys, in whole seconds rounded up', () => {
    const keys = [key(new Date(NOW.getTime() + 2 * DAY).toISOString()), key(new Date(NOW.getTime() + 7 * DAY).toISOString())];
    expect(firstCheckAt(keys, NOW)).toBe(wholeSecondsAfter(NOW.getTime() + 7 * DAY));
    expect(firstCheckAt(keys, NOW)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('waits a full window for a multi-Region primary that has no deletion date yet', () => {
    expect(firstCheckAt([key(null, 30)], NOW)).toBe(wholeSecondsAfter(NOW.getTime() + 30 * DAY));
  });

  it("waits for a primary a full window after its replicas' latest deletion date", () => {
    const replicasDue = NOW.getTime() + 30 * DAY;
    expect(firstCheckAt([key(new Date(replicasDue).toISOString(), 30), key(null, 30)], NOW)).toBe(wholeSecondsAfter(replicasDue + 30 * DAY));
  });

  it('is now when every key was already due, as for keys scheduled by an earlier erasure', () => {
    expect(firstCheckAt([key(new Date(NOW.getTime() - DAY).toISOString())], NOW)).toBe(wholeSecondsAfter(NOW.getTime()));
  });
});
