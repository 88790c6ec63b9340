import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import { assertKeyState } from './key-states.ts';
import { aliasArn, type KmsKey } from './key-store.ts';
import { assertCustomerManaged, type KmsBackend, type KmsOperation } from './kms-backend.ts';
import {
  epochSeconds,
  MAX_TAGS_PER_KEY,
  optionalString,
  optionalTags,
  paginate,
  requiredString,
  tagList,
  tooManyTags,
  validationError,
} from './wire-format.ts';

/**
 * Alias names as KMS checks them. The `alias/aws/` prefix belongs to AWS managed keys; KMS refuses
 * it. No AWS document names the exception; we answer NotAuthorizedException, as moto does.
 */
function aliasName(input: JsonObject): string {
  const name = requiredString(input, 'AliasName');
  if (!name.startsWith('alias/')) {
    throw new AwsServiceError(
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
  }
  if (name.length > 256 || !/^alias\/[a-zA-Z0-9/_-]+$/.test(name)) {
    throw validationError(
      'AliasName',
      name,
      'Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$ and have length less than or equal to 256',
    );
  }
  if (name.startsWith('alias/aws/')) {
    throw new AwsServiceError('NotAuthorizedException', `${name}: aliases that begin with alias/aws/ are reserved for AWS managed keys.`);
  }
  return name;
}

/** An alias points at a customer managed key by key ID or key ARN, and never at a key pending deletion. */
function aliasTarget(kms: KmsBackend, input: JsonObject, context: RequestContext, operation: string): KmsKey {
  const target = requiredString(input, 'TargetKeyId');
  if (target.startsWith('alias/') || /:alias\//.test(target)) {
    throw new AwsServiceError('ValidationException', 'Aliases must refer to keys. Not aliases');
  }
  const key = kms.store.resolveKey(context, target, { aliases: false });
  assertCustomerManaged(key, operation, context);
  assertKeyState(key, 'manage-aliases-and-tags');
  return key;
}

function aliasNotFound(context: RequestContext, name: string): AwsServiceError {
  return new AwsServiceError('NotFoundException', `Alias ${aliasArn(context, name)} is not found.`);
}

const createAlias: KmsOperation = (kms, input, context) => {
  const name = aliasName(input);
  const key = aliasTarget(kms, input, context, 'CreateAlias');
  if (kms.store.findAlias(context, name)) {
    throw new AwsServiceError('AlreadyExistsException', `An alias with the name ${aliasArn(context, name)} already exists`);
  }
  const now = kms.clock.now();
  kms.store.putAlias(context, {
    aliasName: name,
    arn: aliasArn(context, name),
    targetKeyId: key.keyId,
    creationDate: now,
    lastUpdatedDate: now,
  });
  return {};
};

const updateAlias: KmsOperation = (kms, input, context) => {
  const name = aliasName(input);
  const alias = kms.store.findAlias(context, name);
  if (!alias) throw aliasNotFound(context, name);
  const key = aliasTarget(kms, input, context, 'UpdateAlias');
  alias.targetKeyId = key.keyId;
  alias.lastUpdatedDate = kms.clock.now();
  return {};
};

const deleteAlias: KmsOperation = (kms, input, context) => {
  const name = aliasName(input);
  if (!kms.store.findAlias(context, name)) throw aliasNotFound(context, name);
  kms.store.deleteAlias(context, name);
  return {};
};

const listAliases: KmsOperation = (kms, input, context) => {
  const keyId = optionalString(input, 'KeyId');
  const key = keyId === undefined ? undefined : kms.store.resolveKey(context, keyId, { aliases: false });
  const aliases = kms.store.aliasesIn(context).filter((alias) => !key || alias.targetKeyId === key.keyId);
  const { page, marker } = paginate(aliases, input, { defaultLimit: 50, maxLimit: 100 });
  return {
    Aliases: page.map((alias) => ({
      AliasName: alias.aliasName,
      AliasArn: alias.arn,
      TargetKeyId: alias.targetKeyId,
      CreationDate: epochSeconds(alias.creationDate),
      LastUpdatedDate: epochSeconds(alias.lastUpdatedDate),
    })),
    ...marker,
  };
};

function taggedKey(kms: KmsBackend, input: JsonObject, context: RequestContext, operation: string): KmsKey {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'), { aliases: false });
  assertCustomerManaged(key, operation, context);
  assertKeyState(key, 'manage-aliases-and-tags');
  return key;
}

const tagResource: KmsOperation = (kms, input, context) => {
  const tags = optionalTags(input);
  if (tags.length === 0) throw validationError('Tags', undefined, 'Member must not be null or empty');
  const key = taggedKey(kms, input, context, 'TagResource');
  // The 50 tags are the key's, not the request's. No AWS document gives the answer for tags that
  // would take a key past 50; we give the one KMS gives a request of more than 50.
  const keysAfter = new Set([...key.tags.keys(), ...tags.map((tag) => tag.TagKey)]);
  if (keysAfter.size > MAX_TAGS_PER_KEY) throw tooManyTags();
  for (const tag of tags) key.tags.set(tag.TagKey, tag.TagValue);
  return {};
};

const untagResource: KmsOperation = (kms, input, context) => {
  const tagKeys = input.TagKeys;
  if (!Array.isArray(tagKeys) || tagKeys.length === 0 || tagKeys.some((tagKey) => typeof tagKey !== 'string')) {
    throw validationError('TagKeys', undefined, 'Member must be a non-empty list of strings');
  }
  const key = taggedKey(kms, input, context, 'UntagResource');
  for (const tagKey of tagKeys as string[]) key.tags.delete(tagKey);
  return {};
};

/** Reading tags is allowed in every key state, like DescribeKey. */
const listResourceTags: KmsOperation = (kms, input, context) => {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'), { aliases: false });
  const { page, marker } = paginate(tagList(key.tags), input, { defaultLimit: 50, maxLimit: 50 });
  return { Tags: page, ...marker };
};

export const ALIAS_AND_TAG_OPERATIONS: Record<string, KmsOperation> = {
  CreateAlias: createAlias,
  UpdateAlias: updateAlias,
  DeleteAlias: deleteAlias,
  ListAliases: listAliases,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListResourceTags: listResourceTags,
};
