import { randomBytes, randomUUID } from 'node:crypto';
import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import { generateKeyMaterial, keyMaterialId } from './ciphertext.ts';
import { createImportParameters, unwrapKeyMaterial } from './key-import.ts';
import { validatedKeySpec } from './key-specs.ts';
import { assertKeyState } from './key-states.ts';
import { keyArn, type KeyOrigin, type KmsKey, type KmsScope } from './key-store.ts';
import { assertCustomerManaged, type KmsBackend, type KmsOperation } from './kms-backend.ts';
import { generateSigningKey } from './signatures.ts';
import {
  base64,
  epochSeconds,
  keyMetadata,
  optionalBoolean,
  optionalString,
  optionalTags,
  optionalInteger,
  optionalTimestamp,
  paginate,
  requiredBlob,
  requiredString,
  validationError,
} from './wire-format.ts';

const KNOWN_ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'];

/** KMS's key policy when CreateKey or ReplicateKey is given none: the account may use IAM policies. */
export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

export function newKey(
  scope: KmsScope,
  fields: Pick<KmsKey, 'keyId' | 'keyManager' | 'origin' | 'multiRegionKeyType' | 'description' | 'creationDate'> &
    Partial<Pick<KmsKey, 'keySpec' | 'keyUsage'>>,
): KmsKey {
  const external = fields.origin === 'EXTERNAL';
  const keySpec = fields.keySpec ?? 'SYMMETRIC_DEFAULT';
  const symmetric = keySpec === 'SYMMETRIC_DEFAULT';
  return {
    ...fields,
    keySpec,
    keyUsage: fields.keyUsage ?? (symmetric ? 'ENCRYPT_DECRYPT' : 'SIGN_VERIFY'),
    arn: keyArn(scope, fields.keyId),
    accountId: scope.accountId,
    region: scope.region,
    state: external ? 'PendingImport' : 'Enabled',
    transition: undefined,
    deletionDate: undefined,
    pendingWindowInDays: undefined,
    material: external || !symmetric ? undefined : generateKeyMaterial(),
    privateKey: external || symmetric ? undefined : generateSigningKey(keySpec),
    importedMaterialId: undefined,
    importParameters: undefined,
    tags: new Map(),
  };
}

/**
 * A customer managed key as CreateKey makes it. The deployment of serverless.yml's AWS::KMS::Key
 * resources goes through here too, with the key ID it planned; CreateKey always draws a new one.
 */
export function createCustomerManagedKey(kms: KmsBackend, input: JsonObject, scope: KmsScope, keyId?: string): KmsKey {
  const keySpecMember = input.KeySpec === undefined || input.KeySpec === null ? 'CustomerMasterKeySpec' : 'KeySpec';
  const { keySpec, keyUsage } = validatedKeySpec({
    keySpec: optionalString(input, keySpecMember),
    keySpecMember,
    keyUsage: optionalString(input, 'KeyUsage'),
  });
  const origin = optionalString(input, 'Origin') ?? 'AWS_KMS';
  if (!KNOWN_ORIGINS.includes(origin)) {
    throw validationError('Origin', origin, `Member must satisfy enum value set: [${KNOWN_ORIGINS.join(', ')}]`);
  }
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      `The embedded KMS has no custom key stores: Origin ${origin} is not supported.`,
    );
  }
  if (origin === 'EXTERNAL' && keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      `The embedded KMS imports key material only into SYMMETRIC_DEFAULT keys, not ${keySpec} keys.`,
    );
  }
  const description = optionalString(input, 'Description') ?? '';
  if (description.length > 8192) {
    throw validationError('Description', undefined, 'Member must have length less than or equal to 8192');
  }
  const tags = optionalTags(input);
  const multiRegion = optionalBoolean(input, 'MultiRegion') ?? false;
  const key = newKey(scope, {
    // Multi-Region keys share one ID in every Region: "mrk-" and 32 hex digits.
    keyId: keyId ?? (multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID()),
    keyManager: 'CUSTOMER',
    origin: origin as KeyOrigin,
    multiRegionKeyType: multiRegion ? 'PRIMARY' : undefined,
    description,
    creationDate: kms.clock.now(),
    keySpec,
    keyUsage,
  });
  for (const tag of tags) key.tags.set(tag.TagKey, tag.TagValue);
  kms.store.addKey(key);
  return key;
}

const createKey: KmsOperation = (kms, input, context) => {
  const key = createCustomerManagedKey(kms, input, context);
  return { KeyMetadata: keyMetadata(key, kms.store) };
};

const describeKey: KmsOperation = (kms, input, context) => {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'));
  return { KeyMetadata: keyMetadata(key, kms.store) };
};

/**
 * Replaces a key's description (API reference, UpdateKeyDescription): by key ID or key ARN only, the
 * description 0 to 8,192 characters, and "" clears it. KMS's key-state table refuses it for a key
 * pending deletion, like the key's aliases and tags.
 */
const updateKeyDescription: KmsOperation = (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'UpdateKeyDescription');
  const description = input.Description;
  if (typeof description !== 'string') throw validationError('Description', description, 'Member must not be null');
  if (description.length > 8192) {
    throw validationError('Description', undefined, 'Member must have length less than or equal to 8192');
  }
  assertKeyState(key, 'update-description');
  key.description = description;
  return {};
};

const listKeys: KmsOperation = (kms, input, context) => {
  const { page, marker } = paginate(kms.store.keysIn(context), input, { defaultLimit: 100, maxLimit: 1000 });
  return { Keys: page.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })), ...marker };
};

/** The administrative operations name a key by key ID or key ARN only, never by alias. */
export function administeredKey(kms: KmsBackend, input: JsonObject, context: RequestContext, operation: string): KmsKey {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'), { aliases: false });
  assertCustomerManaged(key, operation, context);
  return key;
}

const disableKey: KmsOperation = (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'DisableKey');
  assertKeyState(key, 'enable-or-disable');
  key.state = 'Disabled';
  return {};
};

const enableKey: KmsOperation = (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'EnableKey');
  assertKeyState(key, 'enable-or-disable');
  key.state = 'Enabled';
  return {};
};

const scheduleKeyDeletion: KmsOperation = (kms, input, context) => {
  const pendingWindowInDays = optionalInteger(input, 'PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
  const key = administeredKey(kms, input, context, 'ScheduleKeyDeletion');
  assertKeyState(key, 'schedule-deletion');
  kms.deletion.schedule(key, pendingWindowInDays, kms.clock.now());
  return {
    KeyId: key.arn,
    ...(key.deletionDate ? { DeletionDate: epochSeconds(key.deletionDate) } : {}),
    KeyState: key.state,
    PendingWindowInDays: pendingWindowInDays,
  };
};

const cancelKeyDeletion: KmsOperation = (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'CancelKeyDeletion');
  assertKeyState(key, 'cancel-deletion');
  kms.deletion.cancel(key);
  return { KeyId: key.arn };
};

function assertImportedMaterialKey(key: KmsKey): void {
  if (key.origin !== 'EXTERNAL') {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    );
  }
}

const getParametersForImport: KmsOperation = async (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'GetParametersForImport');
  const wrappingAlgorithm = requiredString(input, 'WrappingAlgorithm');
  const wrappingKeySpec = requiredString(input, 'WrappingKeySpec');
  assertImportedMaterialKey(key);
  assertKeyState(key, 'import-material');
  const { parameters, publicKey } = await createImportParameters(wrappingAlgorithm, wrappingKeySpec, kms.clock.now());
  key.importParameters = parameters;
  return {
    KeyId: key.arn,
    ImportToken: base64(parameters.importToken),
    PublicKey: base64(publicKey),
    ParametersValidTo: epochSeconds(parameters.validTo),
  };
};

const importKeyMaterial: KmsOperation = (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'ImportKeyMaterial');
  const importToken = requiredBlob(input, 'ImportToken', 6144);
  const encryptedKeyMaterial = requiredBlob(input, 'EncryptedKeyMaterial', 6144);
  const expirationModel = optionalString(input, 'ExpirationModel');
  if (expirationModel === 'KEY_MATERIAL_EXPIRES' || optionalTimestamp(input, 'ValidTo') !== undefined) {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      'The embedded KMS imports only key material that does not expire (ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE).',
    );
  }
  assertImportedMaterialKey(key);
  assertKeyState(key, 'import-material');
  const material = unwrapKeyMaterial(key.importParameters, importToken, encryptedKeyMaterial, kms.clock.now());
  const materialId = keyMaterialId(material);
  // A KMS key is bound to the first material imported into it; only that material may come back.
  const boundMaterialId = importedMaterialIdOf(kms, key);
  if (boundMaterialId !== undefined && boundMaterialId !== materialId) {
    throw new AwsServiceError(
      'IncorrectKeyMaterialException',
      'The key material in the request is not the key material previously imported into this KMS key.',
    );
  }
  key.material = material;
  key.importedMaterialId = materialId;
  if (key.state === 'PendingImport') key.state = 'Enabled';
  return { KeyId: key.arn, KeyMaterialId: materialId };
};

/**
 * The material a key is bound to. Related multi-Region keys are bound together: KMS "ensures that
 * the key material that you import into the replica key is identical to the key material that you
 * imported into the primary key" (Developer Guide, "Importing key material into multi-Region keys").
 */
function importedMaterialIdOf(kms: KmsBackend, key: KmsKey): string | undefined {
  if (key.importedMaterialId !== undefined || key.multiRegionKeyType === undefined) return key.importedMaterialId;
  const { primary, replicas } = kms.store.relatedMultiRegionKeys(key);
  return [primary, ...replicas].find((related) => related?.importedMaterialId !== undefined)?.importedMaterialId;
}

/**
 * Deletes imported key material at once (docs/aws-facts.md): the key keeps its metadata and goes to
 * PendingImport, except that a key pending deletion stays pending deletion.
 */
const deleteImportedKeyMaterial: KmsOperation = (kms, input, context) => {
  const key = administeredKey(kms, input, context, 'DeleteImportedKeyMaterial');
  assertImportedMaterialKey(key);
  assertKeyState(key, 'delete-imported-material');
  key.material?.fill(0);
  key.material = undefined;
  key.importParameters = undefined;
  if (key.state === 'Enabled' || key.state === 'Disabled') key.state = 'PendingImport';
  return { KeyId: key.arn, ...(key.importedMaterialId ? { KeyMaterialId: key.importedMaterialId } : {}) };
};

export const KEY_OPERATIONS: Record<string, KmsOperation> = {
  CreateKey: createKey,
  DescribeKey: describeKey,
  UpdateKeyDescription: updateKeyDescription,
  ListKeys: listKeys,
  DisableKey: disableKey,
  EnableKey: enableKey,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
  GetParametersForImport: getParametersForImport,
  ImportKeyMaterial: importKeyMaterial,
  DeleteImportedKeyMaterial: deleteImportedKeyMaterial,
};
