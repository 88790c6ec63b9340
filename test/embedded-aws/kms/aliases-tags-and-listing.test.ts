import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, HOME_REGION, REPLICA_REGION, createKey, startKms, type KmsHarness } from './kms-harness.ts';

let harness: KmsHarness;
beforeEach(async () => {
  harness = await startKms();
});
afterEach(async () => {
  await harness.close();
});

describe('aliases', () => {
  it('resolves a key by alias name and by alias ARN', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/subject-1', TargetKeyId: key.arn }));
    const byName = await harness.client().send(new DescribeKeyCommand({ KeyId: 'alias/subject-1' }));
    const byArn = await harness
      .client()
      .send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:alias/subject-1` }));
    expect(byName.KeyMetadata?.KeyId).toBe(key.keyId);
    expect(byArn.KeyMetadata?.KeyId).toBe(key.keyId);
  });

  it('moves an alias to another key with UpdateAlias and removes it with DeleteAlias', async () => {
    const first = await createKey(harness.client());
    const second = await createKey(harness.client());
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/current', TargetKeyId: first.keyId }));
    await harness.client().send(new UpdateAliasCommand({ AliasName: 'alias/current', TargetKeyId: second.keyId }));
    const moved = await harness.client().send(new DescribeKeyCommand({ KeyId: 'alias/current' }));
    await harness.client().send(new DeleteAliasCommand({ AliasName: 'alias/current' }));
    expect(moved.KeyMetadata?.KeyId).toBe(second.keyId);
    await expect(harness.client().send(new DescribeKeyCommand({ KeyId: 'alias/current' }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });

  it('refuses a second alias of the same name', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: key.keyId }));
    await expect(
      harness.client().send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: key.keyId })),
    ).rejects.toMatchObject({
      name: 'AlreadyExistsException',
      message: `An alias with the name arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:alias/taken already exists`,
    });
  });

  it('refuses alias names without the alias/ prefix', async () => {
    const key = await createKey(harness.client());
    await expect(
      harness.client().send(new CreateAliasCommand({ AliasName: 'subject-1', TargetKeyId: key.keyId })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('alias/') });
  });

  it('refuses the reserved alias/aws/ prefix', async () => {
    const key = await createKey(harness.client());
    await expect(
      harness.client().send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: key.keyId })),
    ).rejects.toMatchObject({ name: 'NotAuthorizedException' });
  });

  it('refuses to point an alias at a key pending deletion', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    await expect(
      harness.client().send(new CreateAliasCommand({ AliasName: 'alias/late', TargetKeyId: key.keyId })),
    ).rejects.toMatchObject({ name: 'KMSInvalidStateException', message: `${key.arn} is pending deletion.` });
  });

  it('lists aliases of one key, page by page', async () => {
    const key = await createKey(harness.client());
    const other = await createKey(harness.client());
    for (const name of ['alias/a', 'alias/b', 'alias/c']) {
      await harness.client().send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.keyId }));
    }
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/other', TargetKeyId: other.keyId }));

    const first = await harness.client().send(new ListAliasesCommand({ KeyId: key.keyId, Limit: 2 }));
    const second = await harness
      .client()
      .send(new ListAliasesCommand({ KeyId: key.keyId, Limit: 2, Marker: first.NextMarker }));

    expect(first.Truncated).toBe(true);
    expect(second.Truncated).toBe(false);
    expect(second.NextMarker).toBeUndefined();
    expect([...(first.Aliases ?? []), ...(second.Aliases ?? [])].map((alias) => alias.AliasName)).toEqual([
      'alias/a',
      'alias/b',
      'alias/c',
    ]);
    expect(first.Aliases?.[0]).toMatchObject({
      AliasArn: `arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:alias/a`,
      TargetKeyId: key.keyId,
      CreationDate: expect.any(Date),
    });
  });
});

describe('tags', () => {
  it('tags, lists and untags a key', async () => {
    const { KeyMetadata } = await harness
      .client()
      .send(new CreateKeyCommand({ Tags: [{ TagKey: 'subject', TagValue: 'subject-42' }] }));
    const keyId = KeyMetadata?.KeyId ?? '';
    await harness.client().send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'purpose', TagValue: 'erasure' }] }));
    await harness.client().send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['subject'] }));
    const { Tags } = await harness.client().send(new ListResourceTagsCommand({ KeyId: keyId }));
    expect(Tags).toEqual([{ TagKey: 'purpose', TagValue: 'erasure' }]);
  });

  it('pages through the tags of a key', async () => {
    const key = await createKey(harness.client());
    const tags = Array.from({ length: 5 }, (_, index) => ({ TagKey: `tag-${index}`, TagValue: String(index) }));
    await harness.client().send(new TagResourceCommand({ KeyId: key.keyId, Tags: tags }));
    const first = await harness.client().send(new ListResourceTagsCommand({ KeyId: key.keyId, Limit: 3 }));
    const second = await harness
      .client()
      .send(new ListResourceTagsCommand({ KeyId: key.keyId, Limit: 3, Marker: first.NextMarker }));
    expect(first.Truncated).toBe(true);
    expect([...(first.Tags ?? []), ...(second.Tags ?? [])]).toEqual(tags);
  });

  it('refuses tag keys with the aws: prefix', async () => {
    const key = await createKey(harness.client());
    await expect(
      harness.client().send(new TagResourceCommand({ KeyId: key.keyId, Tags: [{ TagKey: 'aws:owner', TagValue: 'me' }] })),
    ).rejects.toMatchObject({ name: 'TagException' });
  });
});

describe('listing keys', () => {
  it('lists the keys of the caller Region only, page by page', async () => {
    const keys = [await createKey(harness.client()), await createKey(harness.client()), await createKey(harness.client())];
    const elsewhere = await createKey(harness.client(REPLICA_REGION));
    const first = await harness.client().send(new ListKeysCommand({ Limit: 2 }));
    const second = await harness.client().send(new ListKeysCommand({ Limit: 2, Marker: first.NextMarker }));
    const listed = [...(first.Keys ?? []), ...(second.Keys ?? [])];
    expect(first.Truncated).toBe(true);
    expect(listed).toEqual(keys.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })));
    expect(listed.map((key) => key.KeyId)).not.toContain(elsewhere.keyId);
  });

  it('refuses a marker it never handed out', async () => {
    await expect(harness.client().send(new ListKeysCommand({ Marker: 'bm90LWEtbnVtYmVy' }))).rejects.toMatchObject({
      name: 'InvalidMarkerException',
    });
  });
});
