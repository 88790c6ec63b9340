import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY_MS, HOME_REGION, REPLICA_REGION, startKms, type KmsHarness } from './kms-harness.ts';

let harness: KmsHarness;
afterEach(async () => {
  await harness.close();
});

async function primaryWithReplica(): Promise<{ keyId: string; primaryArn: string; replicaArn: string }> {
  const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
  const keyId = KeyMetadata?.KeyId ?? '';
  const { ReplicaKeyMetadata } = await harness
    .client()
    .send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));
  return { keyId, primaryArn: KeyMetadata?.Arn ?? '', replicaArn: ReplicaKeyMetadata?.Arn ?? '' };
}

async function describeIn(region: string, keyId: string) {
  return (await harness.client(region).send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
}

describe('multi-Region keys', () => {
  it('gives a multi-Region key an mrk- ID shared by its replica in another Region', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    const replica = await describeIn(REPLICA_REGION, key.keyId);
    expect(key.keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(key.replicaArn).toBe(key.primaryArn.replace(HOME_REGION, REPLICA_REGION));
    expect(replica).toMatchObject({
      KeyState: 'Enabled',
      MultiRegion: true,
      MultiRegionConfiguration: {
        MultiRegionKeyType: 'REPLICA',
        PrimaryKey: { Arn: key.primaryArn, Region: HOME_REGION },
        ReplicaKeys: [{ Arn: key.replicaArn, Region: REPLICA_REGION }],
      },
    });
  });

  it('decrypts in the replica Region what the primary encrypted', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('portable') }));
    const { Plaintext } = await harness.client(REPLICA_REGION).send(new DecryptCommand({ CiphertextBlob }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('portable');
  });

  it('refuses to replicate a single-Region key', async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({}));
    await expect(
      harness.client().send(new ReplicateKeyCommand({ KeyId: KeyMetadata?.KeyId, ReplicaRegion: REPLICA_REGION })),
    ).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      message: `${KeyMetadata?.Arn} is not a multi-Region key.`,
    });
  });

  it('puts a primary with replicas in PendingReplicaDeletion, with a window but no DeletionDate', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    const scheduled = await harness
      .client()
      .send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    const primary = await describeIn(HOME_REGION, key.keyId);
    expect(scheduled).toMatchObject({ KeyId: key.primaryArn, KeyState: 'PendingReplicaDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate).toBeUndefined();
    expect(primary).toMatchObject({ KeyState: 'PendingReplicaDeletion', PendingDeletionWindowInDays: 7, Enabled: false });
    expect(primary?.DeletionDate).toBeUndefined();
  });

  it('keeps data decryptable through the replica while the primary waits for it', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('still here') }));
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    harness.clock.advance(60 * DAY_MS);
    const { Plaintext } = await harness.client(REPLICA_REGION).send(new DecryptCommand({ CiphertextBlob }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('still here');
    expect((await describeIn(HOME_REGION, key.keyId))?.KeyState).toBe('PendingReplicaDeletion');
  });

  it('starts the primary waiting period when the last replica is deleted', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    const replicaScheduled = await harness
      .client(REPLICA_REGION)
      .send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    const replicaDeletedAt = replicaScheduled.DeletionDate?.getTime() ?? 0;

    harness.clock.advance(7 * DAY_MS + 1);
    const primary = await describeIn(HOME_REGION, key.keyId);
    expect(primary?.KeyState).toBe('PendingDeletion');
    expect(primary?.DeletionDate).toEqual(new Date(replicaDeletedAt + 7 * DAY_MS));
    expect(primary?.MultiRegionConfiguration?.ReplicaKeys).toEqual([]);

    harness.clock.advance(7 * DAY_MS);
    await expect(describeIn(HOME_REGION, key.keyId)).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(
      harness.events.filter((event) => event.detailType === 'KMS CMK Deletion').map((event) => event.resources[0]),
    ).toEqual([key.replicaArn, key.primaryArn]);
  });
});
