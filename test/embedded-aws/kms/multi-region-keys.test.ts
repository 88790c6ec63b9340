import { randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  UpdatePrimaryRegionCommand,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TRANSITION_MS } from '../../../embedded-aws/kms/key-transitions.ts';
import {
  DAY_MS,
  HOME_REGION,
  importKeyMaterial,
  REPLICA_REGION,
  replicateKey,
  startKms,
  type KmsHarness,
} from './kms-harness.ts';

let harness: KmsHarness;
afterEach(async () => {
  await harness.close();
});

async function primaryWithReplica(): Promise<{ keyId: string; primaryArn: string; replicaArn: string }> {
  const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true, Description: 'primary' }));
  const keyId = KeyMetadata?.KeyId ?? '';
  const replica = await replicateKey(harness, keyId, REPLICA_REGION);
  return { keyId, primaryArn: KeyMetadata?.Arn ?? '', replicaArn: replica.arn };
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

  it('deletes the replica, then the primary at the end of its own waiting period, when one call notices both late', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    const replicaScheduled = await harness
      .client(REPLICA_REGION)
      .send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    harness.kms.close();

    harness.clock.advance(30 * DAY_MS);
    await expect(describeIn(HOME_REGION, key.keyId)).rejects.toMatchObject({ name: 'NotFoundException' });
    const deletions = harness.events.filter((event) => event.detailType === 'KMS CMK Deletion');
    const replicaDeletedAt = replicaScheduled.DeletionDate?.getTime() ?? 0;
    expect(deletions.map((event) => [event.resources[0], event.time.getTime()])).toEqual([
      [key.replicaArn, replicaDeletedAt],
      [key.primaryArn, replicaDeletedAt + 7 * DAY_MS],
    ]);
  });
});

describe('ReplicateKey', () => {
  it('answers with the replica Creating, usable only once it is Enabled a few seconds later', async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = KeyMetadata?.KeyId ?? '';
    const { ReplicaKeyMetadata } = await harness.client().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));
    const replicaKms = harness.client(REPLICA_REGION);
    const encrypting = () => replicaKms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('early') }));

    expect(ReplicaKeyMetadata).toMatchObject({ KeyState: 'Creating', Enabled: false });
    await expect(encrypting()).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${ReplicaKeyMetadata?.Arn} is creating.`,
    });
    harness.clock.advance(DEFAULT_TRANSITION_MS);
    expect((await describeIn(REPLICA_REGION, keyId))?.KeyState).toBe('Enabled');
    await expect(encrypting()).resolves.toMatchObject({ KeyId: ReplicaKeyMetadata?.Arn });
  });

  it('keeps a replica scheduled for deletion while Creating pending deletion once its few seconds are over', async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = KeyMetadata?.KeyId ?? '';
    await harness.client().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));

    const scheduled = await harness.client(REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    harness.clock.advance(DEFAULT_TRANSITION_MS);

    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect(await describeIn(REPLICA_REGION, keyId)).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false, DeletionDate: scheduled.DeletionDate });
  });

  // A sleeper left on the clock is a timer the process waits for, and an instant runToCompletion jumps to.
  it('leaves nothing waiting on the clock once closed, even for a replica still Creating', async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
    await harness.client().send(new ReplicateKeyCommand({ KeyId: KeyMetadata?.KeyId, ReplicaRegion: REPLICA_REGION }));
    expect(harness.clock.nextWake()).toBeDefined();

    harness.kms.close();

    expect(harness.clock.nextWake()).toBeUndefined();
  });

  it('makes the replica of a Disabled primary Enabled: key state is not shared', async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
    await harness.client().send(new DisableKeyCommand({ KeyId: KeyMetadata?.KeyId }));
    await replicateKey(harness, KeyMetadata?.KeyId ?? '', REPLICA_REGION);
    expect((await describeIn(REPLICA_REGION, KeyMetadata?.KeyId ?? ''))?.KeyState).toBe('Enabled');
    expect((await describeIn(HOME_REGION, KeyMetadata?.KeyId ?? ''))?.KeyState).toBe('Disabled');
  });

  it("gives the replica the request's description and tags, not the primary's", async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness
      .client()
      .send(new CreateKeyCommand({ MultiRegion: true, Description: 'primary', Tags: [{ TagKey: 'team', TagValue: 'a' }] }));
    const bare = await harness.client().send(new ReplicateKeyCommand({ KeyId: KeyMetadata?.KeyId, ReplicaRegion: REPLICA_REGION }));
    expect(bare.ReplicaKeyMetadata?.Description).toBe('');
    expect(bare.ReplicaTags).toEqual([]);
    expect(JSON.parse(bare.ReplicaPolicy ?? '{}')).toMatchObject({ Id: 'key-default-1' });
  });

  it('refuses a second replica in a Region that already holds one, even one pending deletion', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await harness.client(REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    await expect(
      harness.client().send(new ReplicateKeyCommand({ KeyId: key.keyId, ReplicaRegion: REPLICA_REGION })),
    ).rejects.toMatchObject({
      name: 'AlreadyExistsException',
      message: 'You can create only one replica of each primary key in each AWS Region.',
    });
  });

  it("refuses to replicate into the primary key's own Region", async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
    await expect(
      harness.client().send(new ReplicateKeyCommand({ KeyId: KeyMetadata?.KeyId, ReplicaRegion: HOME_REGION })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses to replicate a primary pending replica deletion', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    await expect(
      harness.client().send(new ReplicateKeyCommand({ KeyId: key.keyId, ReplicaRegion: 'eu-central-1' })),
    ).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: `${key.primaryArn} is pending deletion.` });
  });

  it("creates the replica of imported key material PendingImport, and takes only the primary's material", async () => {
    harness = await startKms();
    const material = randomBytes(32);
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
    const keyId = KeyMetadata?.KeyId ?? '';
    await importKeyMaterial(harness.client(), keyId, material);
    await replicateKey(harness, keyId, REPLICA_REGION);
    const replicaKms = harness.client(REPLICA_REGION);

    expect((await describeIn(REPLICA_REGION, keyId))?.KeyState).toBe('PendingImport');
    await expect(importKeyMaterial(replicaKms, keyId, randomBytes(32))).rejects.toMatchObject({ name: 'IncorrectKeyMaterialException' });
    await importKeyMaterial(replicaKms, keyId, material);
    const { CiphertextBlob } = await harness.client().send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('imported') }));
    const { Plaintext } = await replicaKms.send(new DecryptCommand({ CiphertextBlob }));
    expect(Buffer.from(Plaintext ?? []).toString()).toBe('imported');
  });
});

describe('UpdatePrimaryRegion', () => {
  it('swaps the primary and the replica, both Updating for a few seconds and still usable', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await harness.client().send(new UpdatePrimaryRegionCommand({ KeyId: key.keyId, PrimaryRegion: REPLICA_REGION }));

    const oldPrimary = await describeIn(HOME_REGION, key.keyId);
    expect(oldPrimary).toMatchObject({
      KeyState: 'Updating',
      MultiRegionConfiguration: {
        MultiRegionKeyType: 'REPLICA',
        PrimaryKey: { Arn: key.replicaArn, Region: REPLICA_REGION },
        ReplicaKeys: [{ Arn: key.primaryArn, Region: HOME_REGION }],
      },
    });
    await expect(
      harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('during') })),
    ).resolves.toBeDefined();
    harness.clock.advance(DEFAULT_TRANSITION_MS);
    expect((await describeIn(HOME_REGION, key.keyId))?.KeyState).toBe('Enabled');
    expect(await describeIn(REPLICA_REGION, key.keyId)).toMatchObject({
      KeyState: 'Enabled',
      MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY' },
    });
  });

  it('refuses while the replica that would become primary is disabled', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await harness.client(REPLICA_REGION).send(new DisableKeyCommand({ KeyId: key.keyId }));
    await expect(
      harness.client().send(new UpdatePrimaryRegionCommand({ KeyId: key.keyId, PrimaryRegion: REPLICA_REGION })),
    ).rejects.toMatchObject({ name: 'DisabledException', message: `${key.replicaArn} is disabled.` });
  });

  it('answers NotFoundException for a Region that holds no replica', async () => {
    harness = await startKms();
    const key = await primaryWithReplica();
    await expect(
      harness.client().send(new UpdatePrimaryRegionCommand({ KeyId: key.keyId, PrimaryRegion: 'eu-central-1' })),
    ).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});
