import { randomBytes } from 'node:crypto';
import { AwsServiceError, type JsonObject } from '../protocol.ts';
import { ciphertextKeyId, keyMaterialId, openCiphertext, sealCiphertext } from './ciphertext.ts';
import { assertKeyUsage } from './key-specs.ts';
import { assertKeyState } from './key-states.ts';
import { keyNotFound, type KmsKey } from './key-store.ts';
import type { KmsOperation } from './kms-backend.ts';
import {
  base64,
  optionalEncryptionContext,
  optionalInteger,
  optionalString,
  requiredBlob,
  requiredString,
  validationError,
} from './wire-format.ts';

const DATA_KEY_BYTES_OF_KEY_SPEC: Record<string, number> = { AES_256: 32, AES_128: 16 };

function assertSymmetricAlgorithm(input: JsonObject): void {
  const algorithm = optionalString(input, 'EncryptionAlgorithm');
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new AwsServiceError(
      'InvalidKeyUsageException',
      `The encryption algorithm ${algorithm} is not valid for a SYMMETRIC_DEFAULT KMS key.`,
    );
  }
}

/** The key's material, once its state and usage allow `operation`. */
function usableMaterial(key: KmsKey, operation: string): Buffer {
  assertKeyState(key, 'cryptographic');
  assertKeyUsage(key, 'ENCRYPT_DECRYPT', operation);
  if (!key.material) throw new AwsServiceError('KMSInvalidStateException', `${key.arn} is pending import.`);
  return key.material;
}

const encrypt: KmsOperation = (kms, input, context) => {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'));
  const plaintext = requiredBlob(input, 'Plaintext', 4096);
  const encryptionContext = optionalEncryptionContext(input);
  assertSymmetricAlgorithm(input);
  const material = usableMaterial(key, 'Encrypt');
  return {
    CiphertextBlob: base64(sealCiphertext(key.keyId, material, plaintext, encryptionContext)),
    KeyId: key.arn,
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  };
};

/**
 * Symmetric ciphertexts name their key, so KeyId is optional; when given it must be that key
 * (IncorrectKeyException otherwise). The key's state is checked before the ciphertext is opened,
 * so a key pending deletion is refused even for a perfectly good ciphertext.
 */
const decrypt: KmsOperation = (kms, input, context) => {
  const ciphertext = requiredBlob(input, 'CiphertextBlob', 6144);
  const encryptionContext = optionalEncryptionContext(input);
  assertSymmetricAlgorithm(input);
  const requestedKeyId = optionalString(input, 'KeyId');
  const requestedKey = requestedKeyId === undefined ? undefined : kms.store.resolveKey(context, requestedKeyId);
  const blobKeyId = ciphertextKeyId(ciphertext);
  const key = kms.store.findKey(context, blobKeyId);
  if (requestedKey && requestedKey.keyId !== blobKeyId) {
    throw new AwsServiceError(
      'IncorrectKeyException',
      'The key ID in the request does not identify a KMS key that can perform this operation.',
    );
  }
  if (!key) throw keyNotFound(context, blobKeyId);
  const material = usableMaterial(key, 'Decrypt');
  return {
    KeyId: key.arn,
    Plaintext: base64(openCiphertext(material, ciphertext, encryptionContext)),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: keyMaterialId(material),
  };
};

const generateDataKey: KmsOperation = (kms, input, context) => {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'));
  const encryptionContext = optionalEncryptionContext(input);
  const numberOfBytes = optionalInteger(input, 'NumberOfBytes', { min: 1, max: 1024 });
  const keySpec = optionalString(input, 'KeySpec');
  if (keySpec !== undefined && DATA_KEY_BYTES_OF_KEY_SPEC[keySpec] === undefined) {
    throw validationError('KeySpec', keySpec, 'Member must satisfy enum value set: [AES_256, AES_128]');
  }
  if ((numberOfBytes === undefined) === (keySpec === undefined)) {
    throw new AwsServiceError('ValidationException', 'Specify either NumberOfBytes or KeySpec, but not both.');
  }
  const material = usableMaterial(key, 'GenerateDataKey');
  const dataKey = randomBytes(numberOfBytes ?? DATA_KEY_BYTES_OF_KEY_SPEC[keySpec ?? 'AES_256'] ?? 32);
  return {
    CiphertextBlob: base64(sealCiphertext(key.keyId, material, dataKey, encryptionContext)),
    Plaintext: base64(dataKey),
    KeyId: key.arn,
    KeyMaterialId: keyMaterialId(material),
  };
};

export const CRYPTOGRAPHIC_OPERATIONS: Record<string, KmsOperation> = {
  Encrypt: encrypt,
  Decrypt: decrypt,
  GenerateDataKey: generateDataKey,
};
