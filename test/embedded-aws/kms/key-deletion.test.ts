import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DAY_MS, HOME_REGION, ACCOUNT_ID, startKms, type KmsHarness, createKey } from './kms-harness.ts';

let harness: KmsHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startKms>[0] = {}): Promise<KmsHarness> {
  harness = await startKms(options);
  return harness;
}

function deletionEvents(h: KmsHarness) {
  return h.events.filter((event) => event.detailType === 'KMS CMK Deletion');
}

describe('the waiting period', () => {
  it('shows DeletionDate only while the key is pending deletion', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    const metadata = async () => (await h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata;

    const before = await metadata();
    const scheduledAt = h.clock.now().getTime();
    const scheduled = await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    const pending = await metadata();
    await h.client().send(new CancelKeyDeletionCommand({ KeyId: key.keyId }));
    const cancelled = await metadata();

    expect(before?.DeletionDate).toBeUndefined();
    expect(Math.abs((scheduled.DeletionDate?.getTime() ?? 0) - (scheduledAt + 7 * DAY_MS))).toBeLessThan(1000);
    expect(pending?.DeletionDate).toEqual(scheduled.DeletionDate);
    expect(pending?.PendingDeletionWindowInDays).toBeUndefined();
    expect(cancelled?.DeletionDate).toBeUndefined();
    expect(cancelled?.KeyState).toBe('Disabled');
  });

  it('waits 30 days when no waiting period is given', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    const scheduledAt = h.clock.now().getTime();
    const scheduled = await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId }));
    expect(scheduled.PendingWindowInDays).toBe(30);
    expect(Math.abs((scheduled.DeletionDate?.getTime() ?? 0) - (scheduledAt + 30 * DAY_MS))).toBeLessThan(1000);
  });

  it.each([
    [6, 'Member must have value greater than or equal to 7'],
    [31, 'Member must have value less than or equal to 30'],
  ])('refuses a waiting period of %i days', async (days, constraint) => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    await expect(
      h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: days })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: `1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: ${constraint}`,
    });
  });
});

describe('real deletion', () => {
  it('keeps the key until its DeletionDate has passed', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    h.clock.advance(7 * DAY_MS - 60_000);
    const { KeyMetadata } = await h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata?.KeyState).toBe('PendingDeletion');
  });

  it('answers NotFoundException for every call on a key after its waiting period', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    h.clock.advance(7 * DAY_MS + 1);
    const notFound = { name: 'NotFoundException', message: `Key '${key.arn}' does not exist` };
    await expect(h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject(notFound);
    await expect(h.client().send(new DescribeKeyCommand({ KeyId: key.arn }))).rejects.toMatchObject(notFound);
    await expect(
      h.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') })),
    ).rejects.toMatchObject(notFound);
    await expect(h.client().send(new CancelKeyDeletionCommand({ KeyId: key.keyId }))).rejects.toMatchObject(notFound);
    const { Keys } = await h.client().send(new ListKeysCommand({}));
    expect(Keys?.map((listed) => listed.KeyId)).not.toContain(key.keyId);
  });

  it('deletes the aliases of a deleted key', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    await h.client().send(new CreateAliasCommand({ AliasName: 'alias/subject-42', TargetKeyId: key.keyId }));
    await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    h.clock.advance(8 * DAY_MS);
    const { Aliases } = await h.client().send(new ListAliasesCommand({}));
    expect(Aliases?.map((alias) => alias.AliasName)).not.toContain('alias/subject-42');
    await expect(h.client().send(new DescribeKeyCommand({ KeyId: 'alias/subject-42' }))).rejects.toMatchObject({
      name: 'NotFoundException',
      message: `Alias arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:alias/subject-42 is not found.`,
    });
  });

  it('emits a KMS CMK Deletion event when the window ends, even if nobody calls', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    const scheduled = await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    h.clock.advance(7 * DAY_MS + 1);
    await vi.waitFor(() => expect(deletionEvents(h)).toHaveLength(1), { timeout: 10_000 });
    expect(deletionEvents(h)[0]).toEqual({
      source: 'aws.kms',
      detailType: 'KMS CMK Deletion',
      detail: { 'key-id': key.keyId },
      resources: [key.arn],
      region: HOME_REGION,
      accountId: ACCOUNT_ID,
      time: scheduled.DeletionDate,
    });
  });

  it('emits the deletion event once when the key is noticed lazily by a call', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    h.kms.close();
    h.clock.advance(7 * DAY_MS + 1);
    await expect(h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    await h.client().send(new ListKeysCommand({}));
    expect(deletionEvents(h)).toHaveLength(1);
  });

  it('deletes every key whose window has ended, earliest first, and none still waiting, when a call notices them', async () => {
    const h = await start();
    const windows = [30, 7, 12, 7, 20];
    const keys = [];
    for (const days of windows) {
      const key = await createKey(h.client(), { Description: `erasure key, ${days} days` });
      await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: days }));
      keys.push({ ...key, days });
    }
    h.kms.close();
    h.clock.advance(15 * DAY_MS);
    await h.client().send(new ListKeysCommand({}));

    const deletedFirst = keys.filter((key) => key.days <= 15).sort((a, b) => a.days - b.days);
    expect(deletionEvents(h).map((event) => event.detail['key-id'])).toEqual(deletedFirst.map((key) => key.keyId));
    h.clock.advance(15 * DAY_MS);
    await h.client().send(new ListKeysCommand({}));
    expect(deletionEvents(h).map((event) => event.detail['key-id'])).toEqual([...deletedFirst, keys[4]!, keys[0]!].map((key) => key.keyId));
  });

  it('deletes the key up to deletionLagMs after its DeletionDate', async () => {
    const h = await start({ deletionLagMs: DAY_MS });
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    const scheduled = await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    h.clock.advance(7 * DAY_MS + 60 * 60 * 1000);
    const late = await h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(late.KeyMetadata?.KeyState).toBe('PendingDeletion');

    h.clock.advance(DAY_MS);
    await expect(h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    expect(deletionEvents(h)[0]?.time).toEqual(new Date((scheduled.DeletionDate?.getTime() ?? 0) + DAY_MS));
  });

  it('never deletes a key whose deletion was cancelled', async () => {
    const h = await start();
    const key = await createKey(h.client(), { Description: 'erasure key of one subject' });
    await h.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    await h.client().send(new CancelKeyDeletionCommand({ KeyId: key.keyId }));
    h.clock.advance(31 * DAY_MS);
    const { KeyMetadata } = await h.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata?.KeyState).toBe('Disabled');
    expect(deletionEvents(h)).toHaveLength(0);
  });
});
