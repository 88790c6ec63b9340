import { DeleteImportedKeyMaterialCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import type { ErasureKey } from '../../../functions/lib/erasure/key-authorisation.ts';
import { eraseKeysAtPace, type KeyErasureOrder, type RegionalPace } from '../../../functions/lib/erasure/key-erasure.ts';
import { QuotaPacer, type PacerClock } from '../../../functions/lib/erasure/quota-pacing.ts';
import { KmsDouble, arnOf, invalidState, type KeyRecord } from '../../support/kms-double.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { EXECUTION_ARN, REGION, erasureRequestFor } from '../../support/settings.ts';

const subject = erasureRequestFor('user-1').subjectFingerprint;
const NOW = new Date('2026-11-20T10:00:00Z');
const HOUR_SECONDS = 3600;

/** A clock on which the pacer's sleeps move time on at once. */
const clock: PacerClock = { now: () => NOW, sleep: async () => {} };

function erasureKey(key: KeyRecord, extra: Partial<ErasureKey> = {}): ErasureKey {
  return { keyId: key.keyId, keyArn: arnOf(key), keyState: key.keyState, origin: 'AWS_KMS', multiRegion: false, ...extra };
}

function order(keys: ErasureKey[], immediate = false): KeyErasureOrder {
  return { execution: EXECUTION_ARN, subjectFingerprint: subject, keys, immediate };
}

describe('eraseKeysAtPace', () => {
  let kms: KmsDouble;
  let ledger: ReturnType<typeof ledgerDouble>;
  let regions: string[];
  const services = () => ({
    kms: kmsKeys(new KMSClient({ region: REGION })),
    ledger,
    pace: (region: string): RegionalPace => {
      regions.push(region);
      return {
        disableKey: new QuotaPacer({ initialPerSecond: 5 }, clock),
        scheduleKeyDeletion: new QuotaPacer({ initialPerSecond: 15 }, clock),
        deleteImportedKeyMaterial: new QuotaPacer({ initialPerSecond: 15 }, clock),
      };
    },
    pendingWindowDays: 7,
    now: () => NOW,
  });
  /** The KMS calls made, in order, each with the key it named. */
  const kmsCalls = () => kms.mock.calls().map((call) => `${call.args[0].constructor.name.replace(/Command$/, '')} ${(call.args[0].input as { KeyId?: string }).KeyId}`);
  const ledgerEvents = async () => (await ledger.read(subject)).entries.map((entry) => entry.event);

  beforeEach(() => {
    kms = new KmsDouble();
    ledger = ledgerDouble();
    regions = [];
  });
  afterEach(() => kms.restore());

  it('disables then schedules each key in its turn, recording each step', async () => {
    const [first, second] = [kms.addKey({ subjectId: 'user-1' }), kms.addKey({ subjectId: 'user-1' })] as [KeyRecord, KeyRecord];

    const erased = await eraseKeysAtPace(order([erasureKey(first), erasureKey(second)]), services());

    expect(kmsCalls()).toEqual([`DisableKey ${arnOf(first)}`, `ScheduleKeyDeletion ${arnOf(first)}`, `DisableKey ${arnOf(second)}`, `ScheduleKeyDeletion ${arnOf(second)}`]);
    expect(await ledgerEvents()).toEqual([
      { type: 'KeyDisabled', keyArn: arnOf(first), outcome: 'disabled' },
      { type: 'KeyDeletionScheduled', keyArn: arnOf(first), deletionDate: first.deletionDate?.toISOString(), pendingWindowDays: 7, alreadyScheduled: false },
      { type: 'KeyDisabled', keyArn: arnOf(second), outcome: 'disabled' },
      { type: 'KeyDeletionScheduled', keyArn: arnOf(second), deletionDate: second.deletionDate?.toISOString(), pendingWindowDays: 7, alreadyScheduled: false },
    ]);
    expect(erased.keys.map((key) => [key.keyArn, key.keyState])).toEqual([
      [arnOf(first), 'PendingDeletion'],
      [arnOf(second), 'PendingDeletion'],
    ]);
    expect(regions).toEqual([REGION, REGION]);
  });

  it('waits for the deletion event until the latest deletion date and 25 hours more', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date('2026-11-27T10:00:00Z') });

    const erased = await eraseKeysAtPace(order([erasureKey(key, { deletionDate: '2026-11-27T10:00:00Z', pendingWindowDays: 7 })]), services());

    expect(erased.firstCheckAt).toBe('2026-11-27T10:00:00Z');
    expect(erased.firstCheckInSeconds).toBe(7 * 24 * HOUR_SECONDS + 25 * HOUR_SECONDS);
  });

  it('only records a key found already pending deletion with its date, touching nothing in KMS', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date('2026-11-27T10:00:00Z') });

    const erased = await eraseKeysAtPace(order([erasureKey(key, { deletionDate: '2026-11-27T10:00:00Z', pendingWindowDays: 30 })]), services());

    expect(kmsCalls()).toEqual([]);
    expect(await ledgerEvents()).toEqual([{ type: 'KeyDeletionScheduled', keyArn: arnOf(key), deletionDate: '2026-11-27T10:00:00Z', pendingWindowDays: 30, alreadyScheduled: true }]);
    expect(erased.keys).toEqual([{ keyId: key.keyId, keyArn: arnOf(key), keyState: 'PendingDeletion', deletionDate: '2026-11-27T10:00:00Z', pendingWindowDays: 30, alreadyScheduled: true }]);
  });

  it('only records a multi-Region primary found waiting for its replicas, with no date and the configured window', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingReplicaDeletion' });

    const erased = await eraseKeysAtPace(order([erasureKey(key, { multiRegion: true, multiRegionKeyType: 'PRIMARY' })]), services());

    expect(kmsCalls()).toEqual([]);
    expect(await ledgerEvents()).toEqual([{ type: 'KeyDeletionScheduled', keyArn: arnOf(key), deletionDate: null, pendingWindowDays: 7, alreadyScheduled: true }]);
    expect(erased.keys).toEqual([expect.objectContaining({ keyState: 'PendingReplicaDeletion', deletionDate: null, pendingWindowDays: 7, alreadyScheduled: true })]);
  });

  it('asks KMS for the date of a key found pending deletion without one', async () => {
    const deletionDate = new Date('2026-11-25T10:00:00Z');
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate });

    const erased = await eraseKeysAtPace(order([erasureKey(key)]), services());

    expect(await ledgerEvents()).toEqual([
      { type: 'KeyDisabled', keyArn: arnOf(key), outcome: 'already-pending-deletion' },
      { type: 'KeyDeletionScheduled', keyArn: arnOf(key), deletionDate: deletionDate.toISOString(), pendingWindowDays: 7, alreadyScheduled: true },
    ]);
    expect(erased.keys).toEqual([expect.objectContaining({ deletionDate: deletionDate.toISOString(), alreadyScheduled: true })]);
  });

  describe('with imported key material (Origin EXTERNAL)', () => {
    beforeEach(() => {
      // Deleting the material leaves the key PendingImport, as KMS does.
      kms.mock.on(DeleteImportedKeyMaterialCommand).callsFake(({ KeyId }) => {
        const key = [...kms.keys.values()].find((candidate) => arnOf(candidate) === KeyId);
        if (key) key.keyState = 'PendingImport';
        return {};
      });
    });

    it('deletes the material at once in an immediate erasure, between disabling and scheduling', async () => {
      const key = kms.addKey({ subjectId: 'user-1' });

      await eraseKeysAtPace(order([erasureKey(key, { origin: 'EXTERNAL' })], true), services());

      expect(kmsCalls()).toEqual([`DisableKey ${arnOf(key)}`, `DeleteImportedKeyMaterial ${arnOf(key)}`, `ScheduleKeyDeletion ${arnOf(key)}`]);
      expect((await ledgerEvents()).map((event) => event.type)).toEqual(['KeyDisabled', 'KeyMaterialDeleted', 'KeyDeletionScheduled']);
      expect(key.keyState).toBe('PendingDeletion');
    });

    it('leaves the material to the waiting period when the erasure is not immediate', async () => {
      const key = kms.addKey({ subjectId: 'user-1' });

      await eraseKeysAtPace(order([erasureKey(key, { origin: 'EXTERNAL' })], false), services());

      expect(kms.calls('DeleteImportedKeyMaterial')).toBe(0);
      expect((await ledgerEvents()).map((event) => event.type)).toEqual(['KeyDisabled', 'KeyDeletionScheduled']);
    });

    it('deletes no material of a key KMS generated, even in an immediate erasure', async () => {
      const key = kms.addKey({ subjectId: 'user-1' });

      await eraseKeysAtPace(order([erasureKey(key, { origin: 'AWS_KMS' })], true), services());

      expect(kms.calls('DeleteImportedKeyMaterial')).toBe(0);
      expect((await ledgerEvents()).map((event) => event.type)).toEqual(['KeyDisabled', 'KeyDeletionScheduled']);
    });
  });

  describe('when a key fails', () => {
    it('fails as KeyErasureIncomplete, naming the keys done, the keys not done and the failure', async () => {
      const [first, second, refused, after] = Array.from({ length: 4 }, () => kms.addKey({ subjectId: 'user-1' })) as [KeyRecord, KeyRecord, KeyRecord, KeyRecord];
      kms.mock.on(DisableKeyCommand, { KeyId: arnOf(refused) }).rejects(invalidState(`${arnOf(refused)} is creating.`));

      const failure = await eraseKeysAtPace(order([first, second, refused, after].map((key) => erasureKey(key))), services()).catch((error: unknown) => error);

      expect(failure).toMatchObject({
        name: 'KeyErasureIncomplete',
        refusal: false,
        message:
          `2 of 4 keys scheduled for deletion (${arnOf(first)}, ${arnOf(second)}); not done: ${arnOf(refused)}, ${arnOf(after)}; ` +
          `${arnOf(refused)} failed with KMSInvalidStateException: ${arnOf(refused)} is creating.`,
        scheduled: [expect.objectContaining({ keyArn: arnOf(first), keyState: 'PendingDeletion' }), expect.objectContaining({ keyArn: arnOf(second), keyState: 'PendingDeletion' })],
        remaining: [expect.objectContaining({ keyArn: arnOf(refused) }), expect.objectContaining({ keyArn: arnOf(after) })],
      });
      expect([first, second, refused, after].map((key) => key.keyState)).toEqual(['PendingDeletion', 'PendingDeletion', 'Enabled', 'Enabled']);
    });

    it('says none is scheduled when the first key fails', async () => {
      const [refused, after] = [kms.addKey({ subjectId: 'user-1' }), kms.addKey({ subjectId: 'user-1' })] as [KeyRecord, KeyRecord];
      kms.mock.on(DisableKeyCommand, { KeyId: arnOf(refused) }).rejects(invalidState(`${arnOf(refused)} is creating.`));

      const failure = await eraseKeysAtPace(order([erasureKey(refused), erasureKey(after)]), services()).catch((error: unknown) => error);

      expect(failure).toMatchObject({
        name: 'KeyErasureIncomplete',
        message: `0 of 2 keys scheduled for deletion; not done: ${arnOf(refused)}, ${arnOf(after)}; ${arnOf(refused)} failed with KMSInvalidStateException: ${arnOf(refused)} is creating.`,
        scheduled: [],
      });
    });

    it('makes no call again for the keys an earlier attempt scheduled, and answers with every key', async () => {
      const [done, rest] = [kms.addKey({ subjectId: 'user-1' }), kms.addKey({ subjectId: 'user-1' })] as [KeyRecord, KeyRecord];
      const keys = [erasureKey(done), erasureKey(rest)];
      // The earlier attempt got as far as the first key (KeyErasureIncomplete carries it back).
      const earlier = await eraseKeysAtPace(order(keys.slice(0, 1)), services());
      kms.mock.resetHistory();

      const erased = await eraseKeysAtPace(order(keys), services(), earlier.keys);

      expect(kmsCalls()).toEqual([`DisableKey ${arnOf(rest)}`, `ScheduleKeyDeletion ${arnOf(rest)}`]);
      expect(erased.keys.map((key) => key.keyArn)).toEqual([arnOf(done), arnOf(rest)]);
      expect((await ledgerEvents()).map((event) => `${event.type} ${(event as { keyArn: string }).keyArn}`)).toEqual([
        `KeyDisabled ${arnOf(done)}`,
        `KeyDeletionScheduled ${arnOf(done)}`,
        `KeyDisabled ${arnOf(rest)}`,
        `KeyDeletionScheduled ${arnOf(rest)}`,
      ]);
    });
  });
});
