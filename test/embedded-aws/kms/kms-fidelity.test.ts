import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UpdateKeyDescriptionCommand,
  type Tag,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSITION_MS } from '../../../embedded-aws/kms/key-transitions.ts';
import { ACCOUNT_ID, HOME_REGION, REPLICA_REGION, createKey, kmsForThisFile } from './kms-harness.ts';
import { refusalOf } from '../../support/refusal.ts';

/**
 * Answers the embedded KMS must give exactly as AWS gives them: error name, HTTP status and message.
 * Where an answer is AWS's, the comment names where it was seen; "LocalStack snapshot" means
 * localstack/localstack tests/aws/services/kms/test_kms.snapshot.json, responses recorded against AWS.
 */
const harness = kmsForThisFile();


function tags(count: number, make = (index: number): Tag => ({ TagKey: `key${index}`, TagValue: `value${index}` })): Tag[] {
  return Array.from({ length: count }, (_, index) => make(index));
}

const withTags = {
  CreateKey: (tagList: Tag[]) => harness.client().send(new CreateKeyCommand({ Tags: tagList })),
  TagResource: async (tagList: Tag[]) => {
    const key = await createKey(harness.client());
    return harness.client().send(new TagResourceCommand({ KeyId: key.keyId, Tags: tagList }));
  },
};
const TAGGING_OPERATIONS = Object.keys(withTags) as (keyof typeof withTags)[];

describe('tag validation on CreateKey and TagResource', () => {
  // LocalStack snapshot test_tag_key_with_duplicate_tag_keys_raises_error (localstack/localstack#12142).
  it.each(TAGGING_OPERATIONS)('%s refuses duplicate tag keys', async (operation) => {
    const duplicated = [{ TagKey: 'tag1', TagValue: 'value1' }, { TagKey: 'tag1', TagValue: 'another-value1' }];
    expect(await refusalOf(withTags[operation](duplicated))).toEqual({ name: 'TagException', status: 400, message: 'Duplicate tag keys' });
  });

  // LocalStack snapshot test_create_key_with_too_many_tags_raises_error (localstack/localstack#12142).
  it.each(TAGGING_OPERATIONS)('%s refuses more than 50 tags', async (operation) => {
    expect(await refusalOf(withTags[operation](tags(51)))).toEqual({ name: 'TagException', status: 400, message: 'Too many tags' });
  });

  // LocalStack snapshots test_create_key_with_invalid_tag_key[lowercase_prefix, uppercase_prefix] and
  // test_tag_existing_key_with_invalid_tag_key: the aws: prefix is reserved in any case.
  it.each(TAGGING_OPERATIONS.flatMap((operation) => ['aws:key1', 'AWS:key1', 'Aws:owner'].map((tagKey) => [operation, tagKey] as const)))(
    '%s refuses the reserved prefix in tag key %s',
    async (operation, tagKey) => {
      expect(await refusalOf(withTags[operation]([{ TagKey: tagKey, TagValue: 'value1' }]))).toEqual({
        name: 'TagException',
        status: 400,
        message: 'Tags beginning with aws: are reserved',
      });
    },
  );

  // LocalStack snapshot test_create_key_with_invalid_tag_key[too_long_key]: the service model's length
  // bound (TagKeyType, 1 to 128), refused before KMS looks at the tags, as a ValidationException.
  it.each(TAGGING_OPERATIONS)('%s refuses a tag key over 128 characters, naming its position', async (operation) => {
    const tagKey = 'a'.repeat(129);
    const request = [{ TagKey: 'fine', TagValue: 'x' }, { TagKey: tagKey, TagValue: 'value1' }];
    expect(await refusalOf(withTags[operation](request))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '${tagKey}' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`,
    });
  });

  // LocalStack snapshot test_key_with_long_tag_value_raises_error: TagValueType is 0 to 256 characters.
  it.each(TAGGING_OPERATIONS)('%s refuses a tag value over 256 characters, naming its position', async (operation) => {
    const tagValue = 'v'.repeat(257);
    expect(await refusalOf(withTags[operation]([{ TagKey: 'tag1', TagValue: tagValue }]))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '${tagValue}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
    });
  });

  // The limits are inclusive (KMS Developer Guide, "Tagging keys": up to 50 tags, keys up to 128
  // characters, values up to 256).
  it.each(TAGGING_OPERATIONS)('%s accepts 50 tags, a 128-character key and a 256-character value', async (operation) => {
    const atTheLimits = tags(50, (index) => ({ TagKey: `${index}`.padEnd(128, 'k'), TagValue: 'v'.repeat(256) }));
    await expect(withTags[operation](atTheLimits)).resolves.toBeDefined();
  });

  // The 50 are the key's tags. No AWS document gives the answer for tags that would take a key past
  // 50: the embedded KMS gives the one for a request of more than 50.
  it('refuses TagResource that would take a key past 50 tags', async () => {
    const key = await createKey(harness.client(), { Tags: tags(40) });
    const moreTags = tags(11, (index) => ({ TagKey: `more${index}`, TagValue: 'x' }));
    expect(await refusalOf(harness.client().send(new TagResourceCommand({ KeyId: key.keyId, Tags: moreTags })))).toEqual({
      name: 'TagException',
      status: 400,
      message: 'Too many tags',
    });
  });
});

describe('key identifiers', () => {
  const describeKey = (keyId: string) => harness.client().send(new DescribeKeyCommand({ KeyId: keyId }));
  const arnOf = (resource: string, region = HOME_REGION) => `arn:aws:kms:${region}:${ACCOUNT_ID}:${resource}`;

  // LocalStack snapshot test_get_key_invalid_uuid: neither a UUID nor "mrk-" and 32 hex digits.
  it.each(['fake-key-id', '134f2428cec14b25a1ae9048164dba47', 'mrk-fake-key-id'])('refuses the malformed key ID %s', async (keyId) => {
    expect(await refusalOf(describeKey(keyId))).toEqual({ name: 'NotFoundException', status: 400, message: `Invalid keyId '${keyId}'` });
  });

  // LocalStack snapshot test_get_key_does_not_exist: a well-formed key ID or key ARN of no key.
  it.each([
    ['key ID', '134f2428-cec1-4b25-a1ae-9048164dba47'],
    ['multi-Region key ID', 'mrk-d3b95762d3b95762d3b95762d3b95762'],
    ['key ARN', arnOf('key/134f2428-cec1-4b25-a1ae-9048164dba47')],
  ])('answers "does not exist" for the well-formed %s of no key', async (_shape, keyId) => {
    const shown = keyId.startsWith('arn:') ? keyId : arnOf(`key/${keyId}`);
    expect(await refusalOf(describeKey(keyId))).toEqual({ name: 'NotFoundException', status: 400, message: `Key '${shown}' does not exist` });
  });

  // LocalStack snapshot test_get_key_in_different_region: the key exists, but in another Region.
  it('refuses a key ARN of another Region, naming that Region', async () => {
    const { KeyMetadata } = await harness.client(REPLICA_REGION).send(new CreateKeyCommand({}));
    expect(await refusalOf(describeKey(KeyMetadata?.Arn ?? ''))).toEqual({
      name: 'NotFoundException',
      status: 400,
      message: `Invalid arn ${REPLICA_REGION}`,
    });
  });

  // KMS's answer in cloudposse/docs#152: "Alias arn:aws:kms:us-west-2:...:alias/parameter_store_key is
  // not found.", the alias ARN unquoted, whether the caller gave the alias name or its ARN.
  it.each([
    ['alias name', 'alias/no-such-alias'],
    ['alias ARN', arnOf('alias/no-such-alias')],
  ])('answers "is not found" for the %s of no alias', async (_shape, keyId) => {
    expect(await refusalOf(describeKey(keyId))).toEqual({
      name: 'NotFoundException',
      status: 400,
      message: `Alias ${arnOf('alias/no-such-alias')} is not found.`,
    });
  });

  // The administrative operations take a key ID or key ARN only (API reference, DisableKey: "Specify
  // the key ID or key ARN"). No AWS document gives the answer for an alias: KMS reads it as a key
  // ID, so the embedded KMS answers as for any malformed key ID.
  it('refuses an alias where only a key ID or key ARN is accepted', async () => {
    const key = await createKey(harness.client());
    expect(await refusalOf(harness.client().send(new DisableKeyCommand({ KeyId: `alias/of-${key.keyId}` })))).toEqual({
      name: 'NotFoundException',
      status: 400,
      message: `Invalid keyId 'alias/of-${key.keyId}'`,
    });
  });

  // An ARN names its partition (LocalStack test_kms_partitions: aws-cn keys are arn:aws-cn:...). AWS
  // documents no answer for a key ARN of another partition; it names no key of this Region.
  it('answers "does not exist" for a key ARN of another partition', async () => {
    const key = await createKey(harness.client());
    const otherPartition = key.arn.replace(/^arn:aws:/, 'arn:aws-cn:');
    expect(await refusalOf(describeKey(otherPartition))).toEqual({
      name: 'NotFoundException',
      status: 400,
      message: `Key '${otherPartition}' does not exist`,
    });
  });
});

describe('Encrypt', () => {
  // LocalStack snapshot test_plaintext_size_for_encrypt; the plaintext itself is never echoed.
  it('refuses a plaintext over 4,096 bytes as the service model does', async () => {
    const key = await createKey(harness.client());
    expect(await refusalOf(harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.alloc(4097) })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    });
  });

  // API reference, Encrypt: "up to 4,096 bytes of data".
  it('encrypts a plaintext of exactly 4,096 bytes', async () => {
    const key = await createKey(harness.client());
    await expect(harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.alloc(4096) }))).resolves.toMatchObject({
      KeyId: key.arn,
    });
  });
});

describe('encryption context', () => {
  async function sealedForSubject(): Promise<{ keyId: string; arn: string; ciphertext: Uint8Array }> {
    const key = await createKey(harness.client());
    const { CiphertextBlob } = await harness
      .client()
      .send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('record'), EncryptionContext: { subject: 'subject-42' } }));
    return { ...key, ciphertext: CiphertextBlob ?? new Uint8Array() };
  }

  // LocalStack snapshot test_encrypt_decrypt_encryption_context: InvalidCiphertextException with no
  // message, which the JS SDK shows as "UnknownError" (@smithy/core decorateServiceException).
  it('refuses Decrypt with another encryption context, saying nothing more', async () => {
    const { ciphertext } = await sealedForSubject();
    expect(await refusalOf(harness.client().send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: { subject: 'subject-43' } })))).toEqual({
      name: 'InvalidCiphertextException',
      status: 400,
      message: 'UnknownError',
    });
  });

  // API reference, ReEncrypt: SourceEncryptionContext "must be the same encryption context that was
  // used to encrypt the ciphertext"; the refusal is Decrypt's.
  it('refuses ReEncrypt with another source encryption context, saying nothing more', async () => {
    const { ciphertext } = await sealedForSubject();
    const destination = await createKey(harness.client());
    const reEncrypting = harness.client().send(
      new ReEncryptCommand({ CiphertextBlob: ciphertext, DestinationKeyId: destination.keyId, SourceEncryptionContext: { subject: 'subject-43' } }),
    );
    expect(await refusalOf(reEncrypting)).toEqual({ name: 'InvalidCiphertextException', status: 400, message: 'UnknownError' });
  });

  // API reference, ReEncrypt response: CiphertextBlob, SourceKeyId and KeyId (key ARNs), both algorithms
  // and both key material IDs; the new ciphertext carries the destination encryption context.
  it('re-encrypts under the destination key and its own encryption context', async () => {
    const source = await sealedForSubject();
    const destination = await createKey(harness.client());
    const reEncrypted = await harness.client().send(
      new ReEncryptCommand({
        CiphertextBlob: source.ciphertext,
        SourceEncryptionContext: { subject: 'subject-42' },
        DestinationKeyId: destination.keyId,
        DestinationEncryptionContext: { subject: 'subject-42', copy: 'archive' },
      }),
    );
    expect(reEncrypted).toMatchObject({
      SourceKeyId: source.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/),
      DestinationKeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { Plaintext, KeyId } = await harness.client().send(
      new DecryptCommand({ CiphertextBlob: reEncrypted.CiphertextBlob, EncryptionContext: { copy: 'archive', subject: 'subject-42' } }),
    );
    expect({ KeyId, plaintext: Buffer.from(Plaintext ?? []).toString() }).toEqual({ KeyId: destination.arn, plaintext: 'record' });
  });
});

describe('multi-Region replicas', () => {
  // LocalStack snapshot test_replicate_key: ReplicaKeyMetadata KeyState "Creating", Enabled false, and
  // DescribeKey in the replica Region still Creating; API reference, ReplicateKey: it becomes Enabled
  // "after a few seconds" (five seconds of virtual time here).
  it('answers ReplicateKey with the replica Creating, Enabled a few seconds later', async () => {
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = KeyMetadata?.KeyId ?? '';
    const { ReplicaKeyMetadata } = await harness.client().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));
    const replicaState = async () => (await harness.client(REPLICA_REGION).send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;

    expect(ReplicaKeyMetadata).toMatchObject({ KeyState: 'Creating', Enabled: false, MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA' } });
    expect(await replicaState()).toBe('Creating');
    harness.clock.advance(DEFAULT_TRANSITION_MS);
    expect(await replicaState()).toBe('Enabled');
  });
});

describe('GenerateDataKeyWithoutPlaintext', () => {
  // API reference, GenerateDataKeyWithoutPlaintext: the response is CiphertextBlob, KeyId (the key
  // ARN) and KeyMaterialId, never the plaintext data key; Decrypt opens the blob later.
  it('returns only the encrypted data key, which Decrypt opens to a key of the size asked', async () => {
    const key = await createKey(harness.client());
    const generated = await harness.client().send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.keyId, KeySpec: 'AES_128', EncryptionContext: { subject: 'subject-42' } }),
    );
    expect(Object.keys(generated).filter((member) => member !== '$metadata').sort()).toEqual(['CiphertextBlob', 'KeyId', 'KeyMaterialId']);
    expect(generated.KeyId).toBe(key.arn);
    const { Plaintext } = await harness
      .client()
      .send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: { subject: 'subject-42' } }));
    expect(Plaintext?.length).toBe(16);
  });

  // KMS's key-state table treats it as GenerateDataKey: "<arn> is disabled." (docs/aws-facts.md).
  it('refuses a disabled key as GenerateDataKey does', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }));
    expect(await refusalOf(harness.client().send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.keyId, NumberOfBytes: 32 })))).toEqual({
      name: 'DisabledException',
      status: 400,
      message: `${key.arn} is disabled.`,
    });
  });
});

describe('UpdateKeyDescription', () => {
  // API reference, UpdateKeyDescription: replaces the description, "" included; DescribeKey shows it.
  it.each(['erasure key of subject 42', ''])('replaces the description with %j', async (description) => {
    const key = await createKey(harness.client(), { Description: 'before' });
    await harness.client().send(new UpdateKeyDescriptionCommand({ KeyId: key.arn, Description: description }));
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata?.Description).toBe(description);
  });

  // KMS's key-state table: refused while the key is pending deletion (docs/aws-facts.md message form).
  it('refuses a key pending deletion', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    expect(await refusalOf(harness.client().send(new UpdateKeyDescriptionCommand({ KeyId: key.keyId, Description: 'late' })))).toEqual({
      name: 'KMSInvalidStateException',
      status: 400,
      message: `${key.arn} is pending deletion.`,
    });
  });
});
