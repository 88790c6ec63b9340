import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  LimitExceededException,
  ListResourceTagsCommand,
  NotFoundException,
  KMSInternalException,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import { kmsProvisioning } from '../../../functions/lib/aws/kms-provisioning.ts';
import { resolveErasureKeys } from '../../../functions/lib/erasure/key-authorisation.ts';
import {
  ERASER_KEY_ACTIONS,
  InvalidProvisioningRequest,
  KeyProvisioningFailed,
  SUBJECT_KEY_DESCRIPTION,
  SubjectKeyConflict,
  provisionSubjectKey,
} from '../../../functions/lib/erasure/key-provisioning.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { ACCOUNT_ID, REGION, keyPolicy } from '../../support/settings.ts';

const ERASER_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/crypto-erasure-test-KeyEraserRole`;

interface FakeKey {
  metadata: KeyMetadata;
  tags: Record<string, string>;
  policy: string;
  description: string;
}

/** A KMS of a few keys and aliases behind aws-sdk-client-mock: enough for CreateKey, CreateAlias and the lookups. */
function fakeKms() {
  const keys = new Map<string, FakeKey>();
  const aliases = new Map<string, string>();
  const mock = mockClient(KMSClient);
  let sequence = 0;
  const find = (reference: string): FakeKey => {
    const keyId = reference.startsWith('alias/') ? aliases.get(reference) : reference.split('/').at(-1);
    const key = keyId ? keys.get(keyId) : undefined;
    if (!key) throw new NotFoundException({ message: `${reference} is not found.`, $metadata: {} });
    return key;
  };
  mock.on(CreateKeyCommand).callsFake((input) => {
    sequence += 1;
    const keyId = `${input.MultiRegion ? 'mrk-' : ''}00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
    const metadata: KeyMetadata = {
      KeyId: keyId,
      Arn: `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${keyId}`,
      AWSAccountId: ACCOUNT_ID,
      KeyManager: 'CUSTOMER',
      KeyState: 'Enabled',
      Origin: input.Origin ?? 'AWS_KMS',
      KeySpec: input.KeySpec,
      KeyUsage: input.KeyUsage,
      MultiRegion: input.MultiRegion ?? false,
      ...(input.MultiRegion ? { MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Arn: `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${keyId}`, Region: REGION }, ReplicaKeys: [] } } : {}),
      Description: input.Description,
    };
    keys.set(keyId, { metadata, tags: Object.fromEntries((input.Tags ?? []).map((tag: { TagKey?: string; TagValue?: string }) => [tag.TagKey, tag.TagValue])), policy: input.Policy ?? '', description: input.Description ?? '' });
    return { KeyMetadata: metadata };
  });
  mock.on(CreateAliasCommand).callsFake(({ AliasName, TargetKeyId }) => {
    if (aliases.has(AliasName)) throw new AlreadyExistsException({ message: `An alias with the name ${AliasName} already exists`, $metadata: {} });
    aliases.set(AliasName, find(TargetKeyId).metadata.KeyId!);
    return {};
  });
  mock.on(DescribeKeyCommand).callsFake(({ KeyId }) => ({ KeyMetadata: find(KeyId).metadata }));
  mock.on(ListResourceTagsCommand).callsFake(({ KeyId }) => ({
    Tags: Object.entries(find(KeyId).tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
    Truncated: false,
  }));
  mock.on(ScheduleKeyDeletionCommand).callsFake(({ KeyId, PendingWindowInDays }) => {
    const key = find(KeyId);
    key.metadata.KeyState = 'PendingDeletion';
    key.metadata.DeletionDate = new Date(Date.UTC(2030, 0, 1 + (PendingWindowInDays ?? 30)));
    return { KeyId: key.metadata.Arn, KeyState: 'PendingDeletion', DeletionDate: key.metadata.DeletionDate, PendingWindowInDays };
  });
  // The replica itself lives in another Region's KMS; here only the primary's family records it.
  mock.on(ReplicateKeyCommand).callsFake(({ KeyId, ReplicaRegion }) => {
    const primary = find(KeyId).metadata;
    const Arn = `arn:aws:kms:${ReplicaRegion}:${ACCOUNT_ID}:key/${primary.KeyId}`;
    primary.MultiRegionConfiguration!.ReplicaKeys!.push({ Arn, Region: ReplicaRegion });
    return { ReplicaKeyMetadata: { ...primary, Arn, KeyState: 'Creating', MultiRegionConfiguration: { ...primary.MultiRegionConfiguration, MultiRegionKeyType: 'REPLICA' } } };
  });
  const client = new KMSClient({ region: REGION });
  return { keys, aliases, mock, find, kms: { ...kmsKeys(client), ...kmsProvisioning(client) }, client };
}

describe('provisionSubjectKey', () => {
  let world: ReturnType<typeof fakeKms>;
  beforeEach(() => {
    world = fakeKms();
  });
  afterEach(() => world.mock.restore());

  it('creates a customer managed symmetric key tagged for the subject, under the subject alias', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, eraserRoleArn: ERASER_ROLE }, keyPolicy);

    expect(provisioned).toMatchObject({ outcome: 'created', aliasName: 'alias/erasure/subject/user-1', tag: { key: 'erasure:subject', value: 'user-1' }, multiRegion: false, eraserRoleArn: ERASER_ROLE });
    const key = world.keys.get(provisioned.keyId)!;
    expect(key.metadata).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Origin: 'AWS_KMS', KeyManager: 'CUSTOMER' });
    expect(key.tags).toEqual({ 'erasure:subject': 'user-1' });
    expect(world.aliases.get('alias/erasure/subject/user-1')).toBe(provisioned.keyId);
  });

  it('keeps the subject id out of the description: the tag and the alias are the only places it appears', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, eraserRoleArn: ERASER_ROLE }, keyPolicy);

    const key = world.keys.get(provisioned.keyId)!;
    expect(key.description).toBe(SUBJECT_KEY_DESCRIPTION);
    expect(key.description).not.toContain('user-1');
    expect(key.policy).not.toContain('user-1');
  });

  it("writes a key policy in which the account's root administers the key and the eraser role may erase it", async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, eraserRoleArn: ERASER_ROLE }, keyPolicy);

    const policy = JSON.parse(world.keys.get(provisioned.keyId)!.policy);
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Id).toBe('crypto-erasure-subject-key');
    expect(policy.Statement).toEqual([
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'AllowCryptoErasurePipelineToEraseThisKey', Effect: 'Allow', Principal: { AWS: ERASER_ROLE }, Action: ERASER_KEY_ACTIONS, Resource: '*' },
    ]);
    expect(ERASER_KEY_ACTIONS).toEqual(['kms:DescribeKey', 'kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:DeleteImportedKeyMaterial']);
  });

  it('writes only the root statement when the eraser role is not known', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    const policy = JSON.parse(world.keys.get(provisioned.keyId)!.policy);
    expect(policy.Statement).toEqual([{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' }]);
    expect(provisioned.eraserRoleArn).toBeNull();
  });

  it('creates a multi-Region primary key when asked', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, multiRegion: true }, keyPolicy);

    expect(provisioned.multiRegion).toBe(true);
    expect(provisioned.keyId).toMatch(/^mrk-/);
  });

  it('makes a key that the erasure authorises for the subject', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, eraserRoleArn: ERASER_ROLE }, keyPolicy);

    const keys = await resolveErasureKeys(world.kms, { subjectId: 'user-1', subjectFingerprint: fingerprintSubject('user-1'), keyIds: [] }, keyPolicy, ACCOUNT_ID);
    expect(keys.map((key) => key.keyArn)).toEqual([provisioned.keyArn]);
  });

  it.each(['', 'user/1', 'user 1', 'x'.repeat(201)])('refuses the invalid subject id %j and creates nothing', async (subjectId) => {
    await expect(provisionSubjectKey(world.kms, { subjectId, accountId: ACCOUNT_ID }, keyPolicy)).rejects.toThrow(InvalidProvisioningRequest);
    expect(world.keys.size).toBe(0);
  });

  it('refuses an eraser role of another account', async () => {
    const request = { subjectId: 'user-1', accountId: ACCOUNT_ID, eraserRoleArn: 'arn:aws:iam::999999999999:role/KeyEraserRole' };
    await expect(provisionSubjectKey(world.kms, request, keyPolicy)).rejects.toThrow(InvalidProvisioningRequest);
    expect(world.keys.size).toBe(0);
  });

  it('answers a retry with the key already provisioned, and never creates a second key', async () => {
    const first = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    const again = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    expect(again).toMatchObject({ outcome: 'already-provisioned', keyId: first.keyId, keyArn: first.keyArn, aliasName: first.aliasName });
    expect(world.keys.size).toBe(1);
  });

  it('refuses a subject whose alias points at a key not tagged for it, naming that key and not the tag', async () => {
    const other = await provisionSubjectKey(world.kms, { subjectId: 'user-2', accountId: ACCOUNT_ID }, keyPolicy);
    world.aliases.set('alias/erasure/subject/user-1', other.keyId);

    const refused = provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    await expect(refused).rejects.toThrow(SubjectKeyConflict);
    await expect(refused).rejects.toThrow(other.keyArn);
    await expect(refused).rejects.not.toThrow('user-2');
    expect(world.keys.size).toBe(1);
  });

  it('refuses a subject whose key is pending deletion: the subject is being erased', async () => {
    const first = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);
    world.keys.get(first.keyId)!.metadata.KeyState = 'PendingDeletion';

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toThrow(/is PendingDeletion: the subject is being erased/);
    expect(world.keys.size).toBe(1);
  });

  it('schedules the new key for deletion in 7 days when its alias cannot be created, and reports both', async () => {
    world.mock.on(CreateAliasCommand).rejects(new LimitExceededException({ message: 'too many aliases', $metadata: {} }));

    const failed = provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    await expect(failed).rejects.toThrow(KeyProvisioningFailed);
    await expect(failed).rejects.toThrow(/LimitExceededException: too many aliases.*scheduled for deletion in 7 days/);
    const [orphan] = world.keys.values();
    expect(orphan!.metadata.KeyState).toBe('PendingDeletion');
    expect(world.mock.commandCalls(ScheduleKeyDeletionCommand)[0]!.args[0].input.PendingWindowInDays).toBe(7);
  });

  it('says to schedule the orphan by hand when scheduling it fails too', async () => {
    world.mock.on(CreateAliasCommand).rejects(new LimitExceededException({ message: 'too many aliases', $metadata: {} }));
    world.mock.on(ScheduleKeyDeletionCommand).rejects(new LimitExceededException({ message: 'slow down', $metadata: {} }));

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toThrow(/could not be scheduled for deletion .*schedule it by hand/);
  });

  it('answers with the winner when a concurrent provisioning took the alias first, and deletes its own key', async () => {
    const winner = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);
    // The lookup ran before the other provisioning's alias existed.
    let lookups = 0;
    world.mock.on(DescribeKeyCommand).callsFake(({ KeyId }) => {
      if (KeyId.startsWith('alias/') && lookups++ === 0) throw new NotFoundException({ message: 'not found', $metadata: {} });
      return { KeyMetadata: world.find(KeyId).metadata };
    });

    const raced = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    expect(raced).toMatchObject({ outcome: 'already-provisioned', keyId: winner.keyId });
    const loser = [...world.keys.values()].find((key) => key.metadata.KeyId !== winner.keyId)!;
    expect(loser.metadata.KeyState).toBe('PendingDeletion');
  });

  it('answers with the single-Region key it created, which has no replicas', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    expect(provisioned).toMatchObject({ outcome: 'created', multiRegion: false, replicas: [] });
  });

  it('creates a multi-Region primary replicated into each asked Region, each replica tagged for the subject', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, replicaRegions: ['us-east-1', 'ap-southeast-2', 'us-east-1'] }, keyPolicy);

    expect(provisioned).toMatchObject({
      outcome: 'created',
      multiRegion: true,
      replicas: [
        { region: 'us-east-1', keyArn: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${provisioned.keyId}` },
        { region: 'ap-southeast-2', keyArn: `arn:aws:kms:ap-southeast-2:${ACCOUNT_ID}:key/${provisioned.keyId}` },
      ],
    });
    const replications = world.mock.commandCalls(ReplicateKeyCommand).map((call) => call.args[0].input);
    expect(replications).toEqual([
      expect.objectContaining({ ReplicaRegion: 'us-east-1', Tags: [{ TagKey: 'erasure:subject', TagValue: 'user-1' }], Description: SUBJECT_KEY_DESCRIPTION }),
      expect.objectContaining({ ReplicaRegion: 'ap-southeast-2', Tags: [{ TagKey: 'erasure:subject', TagValue: 'user-1' }], Description: SUBJECT_KEY_DESCRIPTION }),
    ]);
  });

  it("adds on a retry only the replicas still missing, and none in the primary's own Region", async () => {
    await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, replicaRegions: ['us-east-1'] }, keyPolicy);

    const again = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, replicaRegions: [REGION, 'us-east-1', 'ap-southeast-2'] }, keyPolicy);

    expect(again.outcome).toBe('already-provisioned');
    expect(again.replicas.map((replica) => replica.region)).toEqual(['us-east-1', 'ap-southeast-2']);
    expect(world.mock.commandCalls(ReplicateKeyCommand).map((call) => call.args[0].input.ReplicaRegion)).toEqual(['us-east-1', 'ap-southeast-2']);
  });

  it('lists the replicas of a multi-Region key already provisioned', async () => {
    const first = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, replicaRegions: ['us-east-1'] }, keyPolicy);

    const again = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    expect(again.replicas).toEqual([{ region: 'us-east-1', keyArn: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${first.keyId}` }]);
  });

  it('refuses to replicate a subject key that is not a multi-Region primary', async () => {
    const single = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, replicaRegions: ['us-east-1'] }, keyPolicy)).rejects.toMatchObject({
      name: 'InvalidProvisioningRequest',
      refusal: true,
      message: `subject key ${single.keyArn} is not a multi-Region primary key: it cannot be replicated (provision a new subject with --replica-region)`,
    });
  });

  it('refuses a replica Region that is not an AWS Region name, and creates nothing', async () => {
    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, replicaRegions: ['us-east-1', 'eu-west'] }, keyPolicy)).rejects.toMatchObject({
      name: 'InvalidProvisioningRequest',
      message: 'eu-west is not an AWS Region name',
    });
    expect(world.keys.size).toBe(0);
  });

  it('refuses an invalid subject id as a refusal, saying what a subject id is', async () => {
    await expect(provisionSubjectKey(world.kms, { subjectId: 'user 1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toMatchObject({
      name: 'InvalidProvisioningRequest',
      refusal: true,
      message: 'a subject id is 1 to 200 characters of A-Z, a-z, 0-9, _ and -',
    });
  });

  it.each(['11112222333', `x${ACCOUNT_ID}`, `${ACCOUNT_ID}4`])('refuses the account id %j, which is not 12 digits, and creates nothing', async (accountId) => {
    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId }, keyPolicy)).rejects.toMatchObject({
      name: 'InvalidProvisioningRequest',
      message: `account id ${accountId} is not 12 digits`,
    });
    expect(world.keys.size).toBe(0);
  });

  it('names the eraser role it refuses and the account it expected', async () => {
    const eraserRoleArn = 'arn:aws:iam::999999999999:role/KeyEraserRole';
    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, eraserRoleArn }, keyPolicy)).rejects.toThrow(`${eraserRoleArn} is not an IAM role ARN in account ${ACCOUNT_ID}`);
  });

  it('refuses, as a conflict, a subject whose alias points at an AWS managed key even when it is tagged for the subject', async () => {
    const first = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);
    world.keys.get(first.keyId)!.metadata.KeyManager = 'AWS';

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toMatchObject({ name: 'SubjectKeyConflict', refusal: true });
  });

  it('refuses a subject whose multi-Region key is pending replica deletion: the subject is being erased', async () => {
    const first = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID, multiRegion: true }, keyPolicy);
    world.keys.get(first.keyId)!.metadata.KeyState = 'PendingReplicaDeletion';

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toMatchObject({
      name: 'SubjectKeyConflict',
      message: expect.stringContaining(`key ${first.keyArn} is PendingReplicaDeletion: the subject is being erased`),
    });
  });

  it('reports a failed alias as a failure, not a refusal, naming the deletion date of the orphan and keeping the cause', async () => {
    const aliasError = new LimitExceededException({ message: 'too many aliases', $metadata: {} });
    world.mock.on(CreateAliasCommand).rejects(aliasError);

    const failed = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy).catch((error: Error) => error);

    const [orphan] = world.keys.values();
    expect(failed).toMatchObject({
      name: 'KeyProvisioningFailed',
      refusal: false,
      message: `creating the alias of subject ${fingerprintSubject('user-1')}'s key failed (LimitExceededException: too many aliases); the new key ${orphan!.metadata.Arn} was scheduled for deletion in 7 days (2030-01-08T00:00:00.000Z)`,
      cause: aliasError,
    });
  });

  it('leaves out the deletion date of the orphan when KMS does not answer one', async () => {
    world.mock.on(CreateAliasCommand).rejects(new LimitExceededException({ message: 'too many aliases', $metadata: {} }));
    world.mock.on(ScheduleKeyDeletionCommand).resolves({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toThrow(/was scheduled for deletion in 7 days$/);
  });

  it('reports a failure, not a conflict, when KMS made the alias but the call failed', async () => {
    world.mock.on(CreateAliasCommand).callsFake(({ AliasName, TargetKeyId }) => {
      world.aliases.set(AliasName, world.find(TargetKeyId).metadata.KeyId!);
      throw new KMSInternalException({ message: 'internal error', $metadata: {} });
    });

    await expect(provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy)).rejects.toMatchObject({
      name: 'KeyProvisioningFailed',
      message: expect.stringContaining('(KMSInternalException: internal error)'),
    });
  });
});
