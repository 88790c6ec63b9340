import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DAY_MS,
  HOME_REGION,
  REPLICA_REGION,
  replicateKey,
  SECOND_REPLICA_REGION,
  startKms,
  type KmsHarness,
} from './kms-harness.ts';

/** A primary key in HOME_REGION with a replica in each of two other Regions, all driven over the wire. */
const REGIONS = [HOME_REGION, REPLICA_REGION, SECOND_REPLICA_REGION] as const;

const harnesses: KmsHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});

async function start(options: Parameters<typeof startKms>[0] = {}): Promise<KmsHarness> {
  const harness = await startKms(options);
  harnesses.push(harness);
  return harness;
}

interface Family {
  keyId: string;
  /** The key ARN of the member in each Region. */
  arnIn: Record<string, string>;
}

async function primaryWithTwoReplicas(harness: KmsHarness): Promise<Family> {
  const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true, Description: 'erasure key of subject 42' }));
  const keyId = KeyMetadata?.KeyId ?? '';
  const first = await replicateKey(harness, keyId, REPLICA_REGION);
  const second = await replicateKey(harness, keyId, SECOND_REPLICA_REGION);
  return {
    keyId,
    arnIn: { [HOME_REGION]: KeyMetadata?.Arn ?? '', [REPLICA_REGION]: first.arn, [SECOND_REPLICA_REGION]: second.arn },
  };
}

async function describeIn(harness: KmsHarness, region: string, keyId: string) {
  return (await harness.client(region).send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
}

async function encryptIn(harness: KmsHarness, region: string, keyId: string, text: string): Promise<Uint8Array> {
  const { CiphertextBlob } = await harness
    .client(region)
    .send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text), EncryptionContext: { subject: '42' } }));
  return CiphertextBlob ?? new Uint8Array();
}

async function decryptIn(harness: KmsHarness, region: string, ciphertext: Uint8Array): Promise<string> {
  const { Plaintext } = await harness
    .client(region)
    .send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: { subject: '42' } }));
  return Buffer.from(Plaintext ?? []).toString();
}

function deletionEvents(harness: KmsHarness) {
  return harness.events
    .filter((event) => event.detailType === 'KMS CMK Deletion')
    .map((event) => ({ region: event.region, arn: event.resources[0], keyId: event.detail['key-id'] }));
}

describe('a multi-Region primary key with replicas in two other Regions', () => {
  it('shows the same family in every member, each naming its own type', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    const primaryKey = { Arn: family.arnIn[HOME_REGION], Region: HOME_REGION };
    const replicaKeys = [
      { Arn: family.arnIn[REPLICA_REGION], Region: REPLICA_REGION },
      { Arn: family.arnIn[SECOND_REPLICA_REGION], Region: SECOND_REPLICA_REGION },
    ];

    for (const region of REGIONS) {
      expect(await describeIn(harness, region, family.keyId)).toMatchObject({
        Arn: family.arnIn[region],
        KeyState: 'Enabled',
        MultiRegion: true,
        MultiRegionConfiguration: {
          MultiRegionKeyType: region === HOME_REGION ? 'PRIMARY' : 'REPLICA',
          PrimaryKey: primaryKey,
          ReplicaKeys: replicaKeys,
        },
      });
    }
  });

  it('decrypts in every Region what any member encrypted', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);

    for (const from of REGIONS) {
      const ciphertext = await encryptIn(harness, from, family.keyId, `sealed in ${from}`);
      for (const to of REGIONS) expect(await decryptIn(harness, to, ciphertext)).toBe(`sealed in ${from}`);
    }
  });

  it('keeps the primary PendingReplicaDeletion while a replica remains, then deletes every member in turn', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    const ciphertext = await encryptIn(harness, HOME_REGION, family.keyId, 'subject record');

    const primaryScheduled = await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    await harness.client(REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    const lastReplicaScheduled = await harness
      .client(SECOND_REPLICA_REGION)
      .send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 10 }));
    expect(primaryScheduled).toMatchObject({ KeyState: 'PendingReplicaDeletion', PendingWindowInDays: 7 });
    expect(primaryScheduled.DeletionDate).toBeUndefined();

    harness.clock.advance(7 * DAY_MS + 1);
    const primaryAfterFirstReplica = await describeIn(harness, HOME_REGION, family.keyId);
    await expect(describeIn(harness, REPLICA_REGION, family.keyId)).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(primaryAfterFirstReplica).toMatchObject({ KeyState: 'PendingReplicaDeletion', PendingDeletionWindowInDays: 7 });
    expect(primaryAfterFirstReplica?.DeletionDate).toBeUndefined();
    expect(primaryAfterFirstReplica?.MultiRegionConfiguration?.ReplicaKeys).toEqual([
      { Arn: family.arnIn[SECOND_REPLICA_REGION], Region: SECOND_REPLICA_REGION },
    ]);

    harness.clock.advance(3 * DAY_MS);
    const primaryAlone = await describeIn(harness, HOME_REGION, family.keyId);
    expect(primaryAlone).toMatchObject({ KeyState: 'PendingDeletion', MultiRegionConfiguration: { ReplicaKeys: [] } });
    expect(primaryAlone?.DeletionDate).toEqual(new Date((lastReplicaScheduled.DeletionDate?.getTime() ?? 0) + 7 * DAY_MS));
    expect(primaryAlone?.PendingDeletionWindowInDays).toBeUndefined();

    harness.clock.advance(7 * DAY_MS);
    for (const region of REGIONS) {
      await expect(describeIn(harness, region, family.keyId)).rejects.toMatchObject({ name: 'NotFoundException' });
      await expect(decryptIn(harness, region, ciphertext)).rejects.toMatchObject({ name: 'NotFoundException' });
    }
    expect(deletionEvents(harness)).toEqual([
      { region: REPLICA_REGION, arn: family.arnIn[REPLICA_REGION], keyId: family.keyId },
      { region: SECOND_REPLICA_REGION, arn: family.arnIn[SECOND_REPLICA_REGION], keyId: family.keyId },
      { region: HOME_REGION, arn: family.arnIn[HOME_REGION], keyId: family.keyId },
    ]);
  });

  it('never starts the primary waiting period while a replica whose deletion was cancelled remains', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    await harness.client(REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    await harness.client(SECOND_REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    await harness.client(SECOND_REPLICA_REGION).send(new CancelKeyDeletionCommand({ KeyId: family.keyId }));

    harness.clock.advance(60 * DAY_MS);
    expect((await describeIn(harness, HOME_REGION, family.keyId))?.KeyState).toBe('PendingReplicaDeletion');
    expect((await describeIn(harness, SECOND_REPLICA_REGION, family.keyId))?.KeyState).toBe('Disabled');
    expect(deletionEvents(harness).map((event) => event.region)).toEqual([REPLICA_REGION]);
  });

  it('cancels the deletion of a primary pending replica deletion, leaving it Disabled', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));

    const cancelled = await harness.client().send(new CancelKeyDeletionCommand({ KeyId: family.keyId }));
    const primary = await describeIn(harness, HOME_REGION, family.keyId);
    expect(cancelled.KeyId).toBe(family.arnIn[HOME_REGION]);
    expect(primary).toMatchObject({ KeyState: 'Disabled', MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY' } });
    expect(primary?.PendingDeletionWindowInDays).toBeUndefined();
  });

  // UnsupportedOperationException: LocalStack's parity test against AWS (localstack/localstack#13102);
  // "is not a multi-Region primary key" is the text ThalesGroup/terraform-provider-ciphertrust matches in AWS's answers.
  it('refuses to replicate a replica, from its own Region', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    await expect(
      harness.client(REPLICA_REGION).send(new ReplicateKeyCommand({ KeyId: family.keyId, ReplicaRegion: 'eu-central-1' })),
    ).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      $metadata: { httpStatusCode: 400 },
      message: `${family.arnIn[REPLICA_REGION]} is not a multi-Region primary key.`,
    });
  });

  it('refuses a key ARN of another Region, even where a related key exists', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    const ciphertext = await encryptIn(harness, HOME_REGION, family.keyId, 'subject record');

    await expect(
      harness.client().send(new DescribeKeyCommand({ KeyId: family.arnIn[REPLICA_REGION] })),
    ).rejects.toMatchObject({ name: 'NotFoundException', message: `Invalid arn ${REPLICA_REGION}` });
    await expect(
      harness.client(SECOND_REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: family.arnIn[HOME_REGION] })),
    ).rejects.toMatchObject({ name: 'NotFoundException', message: `Invalid arn ${HOME_REGION}` });
    await expect(
      harness
        .client(REPLICA_REGION)
        .send(new DecryptCommand({ CiphertextBlob: ciphertext, KeyId: family.arnIn[HOME_REGION], EncryptionContext: { subject: '42' } })),
    ).rejects.toMatchObject({ name: 'NotFoundException', message: `Invalid arn ${HOME_REGION}` });
    expect((await describeIn(harness, HOME_REGION, family.keyId))?.KeyState).toBe('Enabled');
  });

  it('gives each member its own aliases: one alias name points at the key of each Region', async () => {
    const harness = await start();
    const family = await primaryWithTwoReplicas(harness);
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/erasure/subject/42', TargetKeyId: family.keyId }));
    await harness.client(REPLICA_REGION).send(new CreateAliasCommand({ AliasName: 'alias/erasure/subject/42', TargetKeyId: family.keyId }));

    expect((await describeIn(harness, REPLICA_REGION, 'alias/erasure/subject/42'))?.Arn).toBe(family.arnIn[REPLICA_REGION]);
    expect((await describeIn(harness, HOME_REGION, 'alias/erasure/subject/42'))?.Arn).toBe(family.arnIn[HOME_REGION]);
    await expect(describeIn(harness, SECOND_REPLICA_REGION, 'alias/erasure/subject/42')).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });
});

describe('a multi-Region family across a snapshot and restore', () => {
  it('keeps every member, its role and its key material', async () => {
    const before = await start();
    const family = await primaryWithTwoReplicas(before);
    const ciphertext = await encryptIn(before, SECOND_REPLICA_REGION, family.keyId, 'subject record');
    const after = await start({ restore: JSON.parse(JSON.stringify(before.kms.snapshot())) as object });

    for (const region of REGIONS) {
      expect(await describeIn(after, region, family.keyId)).toEqual(await describeIn(before, region, family.keyId));
      expect(await decryptIn(after, region, ciphertext)).toBe('subject record');
    }
  });

  it('goes on deleting the family where it stood: the primary waits for the replicas it still has', async () => {
    const before = await start();
    const family = await primaryWithTwoReplicas(before);
    await before.client().send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    await before.client(REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    await before.client(SECOND_REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: family.keyId, PendingWindowInDays: 7 }));
    const after = await start({ restore: JSON.parse(JSON.stringify(before.kms.snapshot())) as object });

    // The restored clock starts where the first one started, a few virtual seconds behind it.
    const margin = 60_000;
    expect((await describeIn(after, HOME_REGION, family.keyId))?.KeyState).toBe('PendingReplicaDeletion');
    after.clock.advance(7 * DAY_MS + margin);
    expect((await describeIn(after, HOME_REGION, family.keyId))?.KeyState).toBe('PendingDeletion');
    after.clock.advance(7 * DAY_MS);
    await expect(describeIn(after, HOME_REGION, family.keyId)).rejects.toMatchObject({ name: 'NotFoundException' });
    expect(deletionEvents(after).map((event) => event.region)).toEqual([REPLICA_REGION, SECOND_REPLICA_REGION, HOME_REGION]);
  });

  it('finishes creating a replica that was Creating when the snapshot was taken', async () => {
    const before = await start();
    const { KeyMetadata } = await before.client().send(new CreateKeyCommand({ MultiRegion: true }));
    await before.client().send(new ReplicateKeyCommand({ KeyId: KeyMetadata?.KeyId, ReplicaRegion: REPLICA_REGION }));
    const after = await start({ restore: JSON.parse(JSON.stringify(before.kms.snapshot())) as object });

    expect((await describeIn(after, REPLICA_REGION, KeyMetadata?.KeyId ?? ''))?.KeyState).toBe('Creating');
    after.clock.advance(10_000);
    expect((await describeIn(after, REPLICA_REGION, KeyMetadata?.KeyId ?? ''))?.KeyState).toBe('Enabled');
  });
});
