import { CancelKeyDeletionCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executionArnOf } from '../../../functions/lib/aws/erasure-executions.ts';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import { recordExecutionStart } from '../../../functions/lib/erasure/erasure-start.ts';
import type { LedgerEvent } from '../../../functions/lib/ledger/ledger-events.ts';
import type { Notification } from '../../../functions/lib/erasure/notifications.ts';
import { cancelErasure, placeLegalHold, releaseSubject, type OperatorContext } from '../../../functions/lib/erasure/operator-decisions.ts';
import { recordErasureUnderWay } from '../../support/erasure-ledger.ts';
import { KmsDouble, arnOf, invalidState, type KeyRecord } from '../../support/kms-double.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { ERASURE_TOPIC_ARN, REGION, STATE_MACHINE_ARN, erasureRequestFor, notificationConfig } from '../../support/settings.ts';

const request = erasureRequestFor('user-4821');
const subject = request.subjectFingerprint;
const NOW = new Date('2026-11-28T10:00:00Z');
const DAY = 86_400_000;
const execution = executionArnOf(STATE_MACHINE_ARN, `erasure-${subject}`);
const ops = { by: 'ops@example.com', reason: 'mistaken closure' };

/** KMS's answers to an operator's CancelKeyDeletion and EnableKey, on the double's keys. */
function answerOperatorCalls(kms: KmsDouble): void {
  const find = (keyArn: string | undefined) => [...kms.keys.values()].find((key) => arnOf(key) === keyArn)!;
  kms.mock.on(CancelKeyDeletionCommand).callsFake(({ KeyId }) => {
    const key = find(KeyId);
    if (key.keyState !== 'PendingDeletion' && key.keyState !== 'PendingReplicaDeletion') throw invalidState(`${KeyId} is not pending deletion.`);
    kms.cancelDeletion(key);
    return { KeyId };
  });
  kms.mock.on(EnableKeyCommand).callsFake(({ KeyId }) => {
    find(KeyId).keyState = 'Enabled';
    return {};
  });
}

describe('operator decisions', () => {
  let kms: KmsDouble;
  let ledger: ReturnType<typeof ledgerDouble>;
  let published: Notification[];
  let stopped: [execution: string, error: string, cause: string][];
  const context = (): OperatorContext => ({
    ledger,
    kms: kmsKeys(new KMSClient({ region: REGION })),
    executions: { stop: async (...stop) => void stopped.push(stop) },
    publisher: { publish: async (notification) => (published.push(notification), `m-${published.length}`) },
    config: notificationConfig,
    now: NOW,
    requestId: 'request-1',
  });
  beforeEach(() => {
    kms = new KmsDouble();
    answerOperatorCalls(kms);
    ledger = ledgerDouble();
    published = [];
    stopped = [];
  });
  afterEach(() => kms.restore());

  const erasureOf = (keys: KeyRecord[]) => recordErasureUnderWay(ledger, request, execution, keys, NOW);
  const keyIn = (keyState: string) => kms.addKey({ subjectId: 'user-4821', keyState, deletionDate: keyState === 'PendingDeletion' ? new Date(NOW.getTime() + 7 * DAY) : undefined });
  const deletedKey = () => {
    const key = keyIn('PendingDeletion');
    kms.deleteKey(key);
    return key;
  };
  const lastEvent = async () => (await ledger.read(subject)).entries.at(-1)?.event;
  const eventTypes = async () => (await ledger.read(subject)).entries.map((entry) => entry.event.type);
  const endedErasure = async (end: LedgerEvent) => {
    await recordExecutionStart(ledger, request, execution, NOW);
    await ledger.record(subject, execution, end);
  };
  const holdUntil = (until: string | null) => ({ by: 'legal@example.com', reason: 'litigation', until });

  describe('cancelErasure', () => {
    it('stops the running erasure with ErasureCancelled, citing who cancelled it and why', async () => {
      await erasureOf([keyIn('PendingDeletion')]);
      await cancelErasure(subject, ops, context());
      expect(stopped).toEqual([[execution, 'ErasureCancelled', 'cancelled by ops@example.com: mistaken closure']]);
    });

    it("cancels every pending deletion, leaving those keys Disabled, and reports each key's state", async () => {
      const pending = keyIn('PendingDeletion');
      const replica = keyIn('PendingReplicaDeletion');
      const notYetDisabled = keyIn('Enabled');
      const gone = deletedKey();
      await erasureOf([pending, replica, notYetDisabled, gone]);

      const outcome = await cancelErasure(subject, ops, context());
      expect(outcome).toMatchObject({ outcome: 'cancelled', erasure: execution, messageIds: ['m-1'] });
      expect(outcome.keys).toEqual([
        { keyArn: arnOf(pending), keyState: 'Disabled', cancelled: true },
        { keyArn: arnOf(replica), keyState: 'Disabled', cancelled: true },
        { keyArn: arnOf(notYetDisabled), keyState: 'Enabled', cancelled: false },
        { keyArn: arnOf(gone), keyState: 'Deleted', cancelled: false },
      ]);
      expect([pending, replica, notYetDisabled].map((key) => key.keyState)).toEqual(['Disabled', 'Disabled', 'Enabled']);
    });

    it("records the cancellation in the ledger, with who, why and each key's state, and announces each key's fate", async () => {
      const pending = keyIn('PendingDeletion');
      const gone = deletedKey();
      await erasureOf([pending, gone]);

      await cancelErasure(subject, ops, context());
      expect(await lastEvent()).toEqual({
        type: 'NotificationPublished',
        kind: 'cancelled',
        topicArn: ERASURE_TOPIC_ARN,
        messageId: 'm-1',
        closureEventId: request.eventId,
      });
      expect((await ledger.read(subject)).entries.find((entry) => entry.event.type === 'ErasureCancelled')?.event).toEqual({
        type: 'ErasureCancelled',
        by: 'ops@example.com',
        reason: 'mistaken closure',
        keys: [
          { keyArn: arnOf(pending), keyState: 'Disabled' },
          { keyArn: arnOf(gone), keyState: 'Deleted' },
        ],
      });
      expect(published.map((notification) => notification.topicArn)).toEqual([ERASURE_TOPIC_ARN]);
      expect(JSON.parse(published[0]!.message)).toMatchObject({
        eventType: 'cancelled',
        closureEventId: request.eventId,
        cancelledBy: 'ops@example.com',
        reason: 'mistaken closure',
        keys: [
          { keyArn: arnOf(pending), fate: 'DeletionCancelled', keyState: 'Disabled', deletionDate: null },
          { keyArn: arnOf(gone), fate: 'Deleted', keyState: null, deletionDate: null },
        ],
      });
    });

    it('re-enables the keys whose deletion it cancelled when asked to, and only those', async () => {
      const pending = keyIn('PendingDeletion');
      const unavailable = keyIn('Unavailable');
      await erasureOf([pending, unavailable]);

      const outcome = await cancelErasure(subject, { ...ops, enable: true }, context());
      expect(outcome.keys).toEqual([
        { keyArn: arnOf(pending), keyState: 'Enabled', cancelled: true },
        { keyArn: arnOf(unavailable), keyState: 'Unavailable', cancelled: false },
      ]);
      expect([pending.keyState, unavailable.keyState]).toEqual(['Enabled', 'Unavailable']);
    });

    it('does not claim a deletion that someone else cancelled first', async () => {
      const pending = keyIn('PendingDeletion');
      await erasureOf([pending]);
      kms.mock.on(CancelKeyDeletionCommand).rejectsOnce(invalidState(`${arnOf(pending)} is not pending deletion.`));

      const outcome = await cancelErasure(subject, ops, context());
      expect(outcome.keys).toEqual([{ keyArn: arnOf(pending), keyState: 'Disabled', cancelled: false }]);
    });

    it('cancels an erasure stopped before its keys were resolved', async () => {
      await recordExecutionStart(ledger, request, execution, NOW);
      await expect(cancelErasure(subject, ops, context())).resolves.toMatchObject({ outcome: 'cancelled', keys: [] });
      expect(await eventTypes()).toContain('ErasureCancelled');
    });

    it('does not stop an execution that has already ended', async () => {
      await erasureOf([keyIn('PendingDeletion')]);
      await ledger.record(subject, execution, { type: 'ExecutionEnded', status: 'ABORTED', error: null, cause: null, stoppedAt: NOW.toISOString() });
      await expect(cancelErasure(subject, ops, context())).resolves.toMatchObject({ outcome: 'cancelled' });
      expect(stopped).toEqual([]);
    });

    it('refuses with ErasureIrreversible when KMS has already deleted every key, leaving the execution to verify and certify, recording and announcing no cancellation', async () => {
      await erasureOf([deletedKey(), deletedKey()]);
      await expect(cancelErasure(subject, ops, context())).rejects.toMatchObject({
        name: 'ErasureIrreversible',
        message: `every key of subject ${subject} is already deleted by KMS: the erasure cannot be undone`,
      });
      // A stopped execution would never verify the deletion nor issue the certificate, and its end
      // would read as the operator's cancel: no page, and the subject left awaiting a release.
      expect(stopped).toEqual([]);
      expect(await eventTypes()).not.toContain('ErasureCancelled');
      expect(published).toEqual([]);
    });

    describe('when KMS deletes keys while the execution is being stopped', () => {
      const stoppingDeletes = (keys: KeyRecord[]): OperatorContext => ({
        ...context(),
        executions: {
          stop: async (...stop) => {
            stopped.push(stop);
            for (const key of keys) kms.deleteKey(key);
          },
        },
      });

      it('refuses with ErasureIrreversible once the last key is gone, recording and announcing no cancellation', async () => {
        const keys = [keyIn('PendingDeletion'), keyIn('PendingDeletion')];
        await erasureOf(keys);
        await expect(cancelErasure(subject, ops, stoppingDeletes(keys))).rejects.toMatchObject({
          name: 'ErasureIrreversible',
          message: `every key of subject ${subject} is already deleted by KMS: the erasure cannot be undone`,
        });
        expect(await eventTypes()).not.toContain('ErasureCancelled');
        expect(published).toEqual([]);
      });

      it('cancels the keys still pending when only some are gone, reporting the others Deleted', async () => {
        const [gone, pending] = [keyIn('PendingDeletion'), keyIn('PendingDeletion')];
        await erasureOf([gone, pending]);
        const outcome = await cancelErasure(subject, ops, stoppingDeletes([gone]));
        expect(outcome.keys).toEqual([
          { keyArn: arnOf(gone), keyState: 'Deleted', cancelled: false },
          { keyArn: arnOf(pending), keyState: 'Disabled', cancelled: true },
        ]);
        expect(await eventTypes()).toContain('ErasureCancelled');
        expect(published).toMatchObject([{ kind: 'cancelled' }]);
      });
    });

    it('places no legal hold it cannot honour: with every key already deleted, the hold is refused and the execution runs on', async () => {
      await erasureOf([deletedKey()]);
      await expect(placeLegalHold(subject, { ...ops, until: null }, context())).rejects.toMatchObject({ name: 'ErasureIrreversible' });
      expect(stopped).toEqual([]);
      expect(await eventTypes()).not.toContain('LegalHoldPlaced');
    });

    it('refuses with ErasureIrreversible an erasure that completed, touching nothing', async () => {
      await erasureOf([]);
      await ledger.record(subject, execution, { type: 'DeletionVerified', checkedAt: '2026-12-05T11:00:00.000Z', keys: [] });
      await expect(cancelErasure(subject, ops, context())).rejects.toMatchObject({
        name: 'ErasureIrreversible',
        message: `subject ${subject} was erased on 2026-12-05T11:00:00.000Z: KMS has destroyed its keys, and this cannot be undone`,
      });
      expect(stopped).toEqual([]);
      expect(published).toEqual([]);
    });

    it('answers already-cancelled for an erasure cancelled before, changing nothing', async () => {
      const pending = keyIn('PendingDeletion');
      await erasureOf([pending]);
      await ledger.record(subject, execution, { type: 'ErasureCancelled', by: 'ops', reason: 'first cancel', keys: [] });
      await expect(cancelErasure(subject, ops, context())).resolves.toEqual({ outcome: 'already-cancelled', erasure: execution, keys: [], messageIds: [] });
      expect(stopped).toEqual([]);
      expect(published).toEqual([]);
      expect(pending.keyState).toBe('PendingDeletion');
    });

    it('refuses with NothingToCancel a subject that has no erasure', async () => {
      await expect(cancelErasure(subject, ops, context())).rejects.toMatchObject({ name: 'NothingToCancel', message: `subject ${subject} has no erasure in the ledger` });
    });

    it('refuses to act on a ledger whose chain is broken, saying where', async () => {
      await erasureOf([keyIn('PendingDeletion')]);
      const rows = ledger.table.rows.get(subject)!;
      rows.splice(1, 1, { ...rows[1]!, event: { type: 'ErasureStarted', eventId: 'forged', executionName: 'forged' } });
      await expect(cancelErasure(subject, ops, context())).rejects.toMatchObject({
        name: 'LedgerChainBroken',
        message: `the ledger of subject ${subject} is broken at entry 2: entry 2 was altered after it was recorded`,
      });
      expect(stopped).toEqual([]);
    });
  });

  describe('placeLegalHold', () => {
    it('records the hold and cancels the erasure under way, giving the hold as the reason', async () => {
      await erasureOf([keyIn('PendingDeletion')]);
      const outcome = await placeLegalHold(subject, holdUntil(null), context());
      expect(outcome).toMatchObject({ outcome: 'held', until: null, cancelled: { outcome: 'cancelled', erasure: execution } });
      const record = await ledger.read(subject);
      expect(record.hold).toMatchObject({ by: 'legal@example.com', reason: 'litigation', until: null });
      expect(record.entries.find((entry) => entry.event.type === 'ErasureCancelled')?.event).toMatchObject({ by: 'legal@example.com', reason: 'legal hold: litigation' });
      expect(stopped).toEqual([[execution, 'ErasureCancelled', 'cancelled by legal@example.com: legal hold: litigation']]);
    });

    it.each([
      ['no erasure', async () => {}],
      ['a completed erasure', () => endedErasure({ type: 'DeletionVerified', checkedAt: NOW.toISOString(), keys: [] })],
      ['a cancelled erasure', () => endedErasure({ type: 'ErasureCancelled', by: 'ops', reason: 'mistake', keys: [] })],
    ])('holds a subject with %s, cancelling nothing', async (_, prepare) => {
      await prepare();
      await expect(placeLegalHold(subject, holdUntil(null), context())).resolves.toEqual({ outcome: 'held', until: null, cancelled: null });
      expect((await ledger.read(subject)).hold).toMatchObject({ by: 'legal@example.com' });
      expect(stopped).toEqual([]);
    });

    it('holds until a later date', async () => {
      const until = new Date(NOW.getTime() + 1000).toISOString();
      await expect(placeLegalHold(subject, holdUntil(until), context())).resolves.toMatchObject({ outcome: 'held', until });
      expect((await ledger.read(subject)).hold?.until).toBe(until);
    });

    it.each([
      ['has passed', new Date(NOW.getTime() - DAY).toISOString()],
      ['is now', NOW.toISOString()],
    ])('refuses, with RangeError and recording nothing, a hold whose end %s', async (_, until) => {
      await expect(placeLegalHold(subject, holdUntil(until), context())).rejects.toThrow(new RangeError(`a hold until ${until} would already have expired`));
      expect(await eventTypes()).toEqual([]);
    });
  });

  describe('releaseSubject', () => {
    const release = () => releaseSubject(subject, { by: 'ops@example.com', reason: 'confirmed' }, { ledger, requestId: 'request-2' });

    it.each([
      ['a legal hold', ['legal-hold'], () => ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: null }, { requestId: 'r-0' })],
      ['a cancelled erasure', ['cancellation'], () => endedErasure({ type: 'ErasureCancelled', by: 'ops', reason: 'mistake', keys: [] })],
      ['a failed erasure', ['failed-attempts'], () => endedErasure({ type: 'ErasureFailed', error: 'AwsServerError', message: 'down' })],
    ])('releases a subject from %s, recording the release', async (_, released, decide) => {
      await decide();
      await expect(release()).resolves.toEqual({ outcome: 'released', released });
      expect(await lastEvent()).toEqual({ type: 'Released', by: 'ops@example.com', reason: 'confirmed' });
    });

    it('refuses with NothingToRelease a subject neither held nor awaiting a release, recording nothing', async () => {
      await recordExecutionStart(ledger, request, execution, NOW);
      await expect(release()).rejects.toMatchObject({ name: 'NothingToRelease', message: `subject ${subject} is neither held nor awaiting a release` });
      expect(await eventTypes()).toEqual(['ClosureReceived', 'ErasureStarted']);
    });
  });
});
