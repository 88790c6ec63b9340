import { CreateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { kmsKeys } from '../../functions/lib/aws/kms-keys.ts';
import { DAY_MS, HOME_REGION, REPLICA_REGION, SECOND_REPLICA_REGION, kmsForThisFile, replicateKey } from '../embedded-aws/kms/kms-harness.ts';

/**
 * The erasure's KMS adapter on the embedded KMS, several Regions on one endpoint: KMS is regional,
 * and an endpoint asked about another Region's key ARN answers NotFoundException, the very answer
 * that proves a deletion. The adapter must never read "another Region" as "deleted".
 */
const harness = kmsForThisFile();
const configIn = (region: string) => ({
  endpoint: harness.endpoint,
  region,
  credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'embedded-secret' },
});

async function family() {
  const { KeyMetadata } = await harness.client(HOME_REGION).send(new CreateKeyCommand({ MultiRegion: true }));
  const primary = KeyMetadata?.Arn ?? '';
  const replicas = [(await replicateKey(harness, primary, REPLICA_REGION)).arn, (await replicateKey(harness, primary, SECOND_REPLICA_REGION)).arn];
  return { primary, replicas };
}

describe('the KMS adapter across Regions', () => {
  it('asks each key ARN of its own Region', async () => {
    const { primary, replicas } = await family();
    const kms = kmsKeys(configIn(HOME_REGION));

    const described = await Promise.all([primary, ...replicas].map((arn) => kms.describeKey(arn)));

    expect(described.map((key) => key?.keyArn)).toEqual([primary, ...replicas]);
    expect(described.map((key) => key?.keyState)).toEqual(['Enabled', 'Enabled', 'Enabled']);
  });

  it("reads a multi-Region key's family from any member", async () => {
    const { primary, replicas } = await family();
    const kms = kmsKeys(configIn(HOME_REGION));

    const fromPrimary = await kms.describeKey(primary);
    const fromReplica = await kms.describeKey(replicas[1]!);

    expect(fromPrimary?.family).toEqual({ role: 'PRIMARY', primaryArn: primary, replicaArns: replicas });
    expect(fromReplica?.family).toMatchObject({ role: 'REPLICA', primaryArn: primary });
    expect(fromReplica?.family?.replicaArns).toEqual(expect.arrayContaining(replicas));
  });

  it("changes a replica's state in its own Region only", async () => {
    const { primary, replicas } = await family();
    const kms = kmsKeys(configIn(HOME_REGION));

    await kms.disableKey(replicas[0]!);
    const scheduled = await kms.scheduleKeyDeletion(replicas[0]!, 7);

    expect(scheduled.keyState).toBe('PendingDeletion');
    expect((await kms.describeKey(replicas[0]!))?.keyState).toBe('PendingDeletion');
    expect((await kms.describeKey(replicas[1]!))?.keyState).toBe('Enabled');
    expect((await kms.describeKey(primary))?.keyState).toBe('Enabled');
  });

  it('answers undefined only for a key its own Region no longer knows', async () => {
    const { KeyMetadata } = await harness.client(REPLICA_REGION).send(new CreateKeyCommand({}));
    const keyArn = KeyMetadata?.Arn ?? '';
    const kms = kmsKeys(configIn(HOME_REGION));
    await harness.client(REPLICA_REGION).send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: 7 }));
    expect((await kms.describeKey(keyArn))?.keyState).toBe('PendingDeletion');

    harness.clock.advance(8 * DAY_MS);

    expect(await kms.describeKey(keyArn)).toBeUndefined();
  });

  it("refuses, rather than misreads, another Region's key when given a single client", async () => {
    const { KeyMetadata } = await harness.client(REPLICA_REGION).send(new CreateKeyCommand({}));
    const kms = kmsKeys(harness.client(HOME_REGION));

    await expect(kms.describeKey(KeyMetadata?.Arn ?? '')).rejects.toThrow(`a KMS client of Region ${HOME_REGION} cannot answer for a key of Region ${REPLICA_REGION}`);
  });

  it('sends an alias and a bare key id to its own Region', async () => {
    const { KeyMetadata } = await harness.client(HOME_REGION).send(new CreateKeyCommand({}));
    const kms = kmsKeys(configIn(HOME_REGION));
    expect((await kms.describeKey(KeyMetadata?.KeyId ?? ''))?.keyArn).toBe(KeyMetadata?.Arn);
    expect(await kms.describeKey('alias/no-such-alias')).toBeUndefined();
  });
});
