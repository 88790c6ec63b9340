import { AwsServiceError, epochSeconds, type JsonObject } from '../protocol.ts';
import { keyMaterialId, type EncryptionContext } from './ciphertext.ts';
import { signingAlgorithmsOf } from './key-specs.ts';
import type { KeyStore, KmsKey } from './key-store.ts';

/**
 * Reading requests and writing responses in KMS's JSON 1.1 shapes: blobs travel as base64 and
 * timestamps as epoch seconds, which is what the AWS SDKs and CLI expect to deserialise.
 */

function memberPath(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

/** KMS words its input errors after the service model's constraints. */
export function validationError(member: string, value: unknown, constraint: string): AwsServiceError {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${memberPath(member)}' failed to satisfy constraint: ${constraint}`,
  );
}

export function requiredString(input: JsonObject, member: string): string {
  const value = optionalString(input, member);
  if (value === undefined || value.length === 0) {
    throw validationError(member, value, value === undefined ? 'Member must not be null' : 'Member must have length greater than or equal to 1');
  }
  return value;
}

export function optionalString(input: JsonObject, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationError(member, value, 'Member must be a string');
  return value;
}

export function optionalBoolean(input: JsonObject, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw validationError(member, value, 'Member must be a boolean');
  return value;
}

export function optionalInteger(
  input: JsonObject,
  member: string,
  range: { min: number; max: number },
): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw validationError(member, value, 'Member must be an integer');
  }
  if (value < range.min) {
    throw validationError(member, value, `Member must have value greater than or equal to ${range.min}`);
  }
  if (value > range.max) {
    throw validationError(member, value, `Member must have value less than or equal to ${range.max}`);
  }
  return value;
}

export function requiredBlob(input: JsonObject, member: string, maxBytes: number): Buffer {
  const value = input[member];
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw validationError(member, undefined, 'Member must be a base64-encoded blob and must not be null');
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 1) throw blobValidationError(member, 'Member must have length greater than or equal to 1');
  if (bytes.length > maxBytes) throw blobValidationError(member, `Member must have length less than or equal to ${maxBytes}`);
  return bytes;
}

/** A blob's value is sensitive (plaintext, a message to sign): KMS names the member but never shows it. */
function blobValidationError(member: string, constraint: string): AwsServiceError {
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value at '${memberPath(member)}' failed to satisfy constraint: ${constraint}`,
  );
}

export function optionalEncryptionContext(input: JsonObject, member = 'EncryptionContext'): EncryptionContext {
  const value = input[member];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((entry) => typeof entry !== 'string')) {
    throw validationError(member, undefined, 'Member must be a map of strings to strings');
  }
  return value as EncryptionContext;
}

export function optionalTimestamp(input: JsonObject, member: string): Date | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw validationError(member, value, 'Member must be a timestamp');
  return new Date(value * 1000);
}

export interface Tag {
  TagKey: string;
  TagValue: string;
}

/** A key carries at most 50 tags (KMS Developer Guide, "Tagging keys"). */
export const MAX_TAGS_PER_KEY = 50;

/**
 * Tags as KMS checks them. The service model bounds TagKey to 1 to 128 characters and TagValue to
 * 256, which KMS enforces before anything else, as a ValidationException naming the tag's position;
 * KMS itself then refuses duplicate keys, more than 50 tags and the reserved `aws:` prefix in any
 * case, each with a TagException. Every message is the one AWS answered in LocalStack's snapshots
 * (localstack/localstack#12142: test_tag_key_with_duplicate_tag_keys_raises_error,
 * test_create_key_with_too_many_tags_raises_error, test_create_key_with_invalid_tag_key,
 * test_key_with_long_tag_value_raises_error), implemented in localstack's services/kms/utils.py.
 */
export function optionalTags(input: JsonObject, member = 'Tags'): Tag[] {
  const value = input[member];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError(member, undefined, 'Member must be a list of tags');
  const tags = value.map((entry: unknown, index) => {
    const tag = entry as Partial<Record<string, unknown>>;
    if (typeof tag?.TagKey !== 'string' || typeof tag.TagValue !== 'string') {
      throw validationError(member, undefined, 'Each tag must have a string TagKey and TagValue');
    }
    const position = `${memberPath(member)}.${index + 1}.member`;
    const keyLength = [...tag.TagKey].length;
    if (keyLength < 1) throw validationError(`${position}.tagKey`, tag.TagKey, 'Member must have length greater than or equal to 1');
    if (keyLength > 128) throw validationError(`${position}.tagKey`, tag.TagKey, 'Member must have length less than or equal to 128');
    if ([...tag.TagValue].length > 256) {
      throw validationError(`${position}.tagValue`, tag.TagValue, 'Member must have length less than or equal to 256');
    }
    return { TagKey: tag.TagKey, TagValue: tag.TagValue };
  });
  if (new Set(tags.map((tag) => tag.TagKey)).size < tags.length) throw new AwsServiceError('TagException', 'Duplicate tag keys');
  if (tags.length > MAX_TAGS_PER_KEY) throw tooManyTags();
  if (tags.some((tag) => tag.TagKey.toLowerCase().startsWith('aws:'))) {
    throw new AwsServiceError('TagException', 'Tags beginning with aws: are reserved');
  }
  return tags;
}

export function tooManyTags(): AwsServiceError {
  return new AwsServiceError('TagException', 'Too many tags');
}

export { epochSeconds };

export function base64(bytes: Buffer): string {
  return bytes.toString('base64');
}

export function tagList(tags: Map<string, string>): Tag[] {
  return [...tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

/** DescribeKey's KeyMetadata, with each optional member present exactly when KMS includes it. */
export function keyMetadata(key: KmsKey, store: KeyStore): JsonObject {
  const metadata: JsonObject = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: epochSeconds(key.creationDate),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    Origin: key.origin,
    KeyManager: key.keyManager,
    // CustomerMasterKeySpec is KeySpec's deprecated twin: KMS still returns both, always equal.
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...(key.keyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: signingAlgorithmsOf(key.keySpec) }
      : { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] }),
    MultiRegion: key.multiRegionKeyType !== undefined,
  };
  if (key.state === 'PendingDeletion' && key.deletionDate) metadata.DeletionDate = epochSeconds(key.deletionDate);
  // Only a primary waiting for its replicas shows its window; every other scheduled key shows a date.
  if (key.state === 'PendingReplicaDeletion') metadata.PendingDeletionWindowInDays = key.pendingWindowInDays;
  if (key.origin === 'EXTERNAL' && key.importedMaterialId) metadata.ExpirationModel = 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  if (key.material) metadata.CurrentKeyMaterialId = keyMaterialId(key.material);
  if (key.multiRegionKeyType) {
    const { primary, replicas } = store.relatedMultiRegionKeys(key);
    const reference = (related: KmsKey) => ({ Arn: related.arn, Region: related.region });
    metadata.MultiRegionConfiguration = {
      MultiRegionKeyType: key.multiRegionKeyType,
      ...(primary ? { PrimaryKey: reference(primary) } : {}),
      ReplicaKeys: replicas.map(reference),
    };
  }
  return metadata;
}

/**
 * One page of a KMS list. The marker is opaque to callers; here it is the position of the next
 * entry, so a list that changes between pages may skip or repeat entries, as KMS warns it may.
 */
export function paginate<T>(
  items: T[],
  input: JsonObject,
  limits: { defaultLimit: number; maxLimit: number },
): { page: T[]; marker: JsonObject } {
  const limit = optionalInteger(input, 'Limit', { min: 1, max: limits.maxLimit }) ?? limits.defaultLimit;
  const marker = optionalString(input, 'Marker');
  let start = 0;
  if (marker !== undefined) {
    start = Number(Buffer.from(marker, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) {
      throw new AwsServiceError('InvalidMarkerException', `The marker '${marker}' is not one this list returned.`);
    }
  }
  const page = items.slice(start, start + limit);
  const next = start + limit;
  return {
    page,
    marker:
      next < items.length
        ? { Truncated: true, NextMarker: Buffer.from(String(next), 'utf8').toString('base64url') }
        : { Truncated: false },
  };
}
