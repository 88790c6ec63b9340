import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  LimitExceededException,
  ListResourceTagsCommand,
  NotFoundException,
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
    expect(policy.Statement).toEqual([
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' },
      { Sid: 'AllowCryptoErasurePipelineToEraseThisKey', Effect: 'Allow', Principal: { AWS: ERASER_ROLE }, Action: ERASER_KEY_ACTIONS, Resource: '*' },
    ]);
    expect(ERASER_KEY_ACTIONS).toEqual(['kms:DescribeKey', 'kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:DeleteImportedKeyMaterial']);
  });

  it('writes only the root statement when the eraser role is not known', async () => {
    const provisioned = await provisionSubjectKey(world.kms, { subjectId: 'user-1', accountId: ACCOUNT_ID }, keyPolicy);

    const policy = JSON.parse(world.keys.get(provisioned.keyId)!.policy);
    expect(policy.Statement).toHaveLength(1);
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
});
