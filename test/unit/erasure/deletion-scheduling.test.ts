import { KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import { disableErasureKey, scheduleErasureKeyDeletion } from '../../../functions/lib/erasure/deletion-scheduling.ts';
import type { ErasureKey } from '../../../functions/lib/erasure/key-authorisation.ts';
import { KmsDouble, arnOf, disabled, invalidState, type KeyRecord } from '../../support/kms-double.ts';

function erasureKey(key: KeyRecord): ErasureKey {
  return { keyId: key.keyId, keyArn: arnOf(key), keyState: key.keyState, origin: 'AWS_KMS', multiRegion: false };
}

describe('disableErasureKey', () => {
  let kms: KmsDouble;
  const keys = () => kmsKeys(new KMSClient({ region: 'eu-west-1' }));
  beforeEach(() => {
    kms = new KmsDouble();
  });
  afterEach(() => kms.restore());

  it.each(['Enabled', 'Disabled', 'Unavailable'])('disables a key in state %s', async (keyState) => {
    const key = kms.addKey({ subjectId: 'user-1', keyState });
    await expect(disableErasureKey(keys(), erasureKey(key))).resolves.toEqual({ keyArn: arnOf(key), outcome: 'disabled' });
    expect(key.keyState).toBe('Disabled');
  });

  it.each(['PendingDeletion', 'PendingReplicaDeletion'])('treats a key already in %s as done', async (keyState) => {
    const key = kms.addKey({ subjectId: 'user-1', keyState });
    await expect(disableErasureKey(keys(), erasureKey(key))).resolves.toMatchObject({ outcome: 'already-pending-deletion' });
  });

  it('recognises pending deletion reported as DisabledException', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', disabled(`${arnOf(key)} is pending deletion.`));
    await expect(disableErasureKey(keys(), erasureKey(key))).resolves.toMatchObject({ outcome: 'already-pending-deletion' });
  });

  it('carries on past a key pending import, which has no material to use', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingImport' });
    await expect(disableErasureKey(keys(), erasureKey(key))).resolves.toMatchObject({ outcome: 'pending-import' });
  });

  it('fails on any other invalid state', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', invalidState(`${arnOf(key)} is creating.`));
    await expect(disableErasureKey(keys(), erasureKey(key))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
  });
});

describe('scheduleErasureKeyDeletion', () => {
  let kms: KmsDouble;
  const keys = () => kmsKeys(new KMSClient({ region: 'eu-west-1' }));
  beforeEach(() => {
    kms = new KmsDouble();
  });
  afterEach(() => kms.restore());

  it('schedules deletion with the configured waiting period', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'Disabled' });
    const scheduled = await scheduleErasureKeyDeletion(keys(), erasureKey(key), 7);
    expect(scheduled).toMatchObject({ keyArn: arnOf(key), keyState: 'PendingDeletion', pendingWindowDays: 7, alreadyScheduled: false });
    expect(Date.parse(scheduled.deletionDate ?? '') - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
  });

  it('treats a key already pending deletion as scheduled, keeping its own deletion date', async () => {
    const deletionDate = new Date('2026-12-01T00:00:00Z');
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });
    const scheduled = await scheduleErasureKeyDeletion(keys(), erasureKey(key), 30);
    expect(scheduled).toMatchObject({ alreadyScheduled: true, deletionDate: deletionDate.toISOString(), keyState: 'PendingDeletion' });
  });

  it('treats a multi-Region primary already waiting for its replicas as scheduled, with no date yet', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingReplicaDeletion' });
    const scheduled = await scheduleErasureKeyDeletion(keys(), erasureKey(key), 7);
    expect(scheduled).toMatchObject({ alreadyScheduled: true, keyState: 'PendingReplicaDeletion', deletionDate: null });
  });

  it('lets a throttled call fail, for the pacer to make again', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('ScheduleKeyDeletion', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(scheduleErasureKeyDeletion(keys(), erasureKey(key), 7)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(key.keyState).toBe('Enabled');
  });
});
