import { randomBytes } from 'node:crypto';
import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import { ciphertextKeyId, keyMaterialId, openCiphertext, sealCiphertext, type EncryptionContext } from './ciphertext.ts';
import { assertKeyUsage } from './key-specs.ts';
import { assertKeyState } from './key-states.ts';
import { keyNotFound, type KmsKey } from './key-store.ts';
import type { KmsBackend, KmsOperation } from './kms-backend.ts';
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

function assertSymmetricAlgorithm(input: JsonObject, member = 'EncryptionAlgorithm'): void {
  const algorithm = optionalString(input, member);
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

/**
 * The request's input is checked against the service model before its key is looked up: a plaintext
 * over 4,096 bytes is refused even for a key that does not exist, with AWS's "1 validation error
 * detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than
 * or equal to 4096" (LocalStack's snapshot recorded against AWS, test_plaintext_size_for_encrypt).
 */
const encrypt: KmsOperation = (kms, input, context) => {
  const keyId = requiredString(input, 'KeyId');
  const plaintext = requiredBlob(input, 'Plaintext', 4096);
  const encryptionContext = optionalEncryptionContext(input);
  assertSymmetricAlgorithm(input);
  const key = kms.store.resolveKey(context, keyId);
  const material = usableMaterial(key, 'Encrypt');
  return {
    CiphertextBlob: base64(sealCiphertext(key.keyId, material, plaintext, encryptionContext)),
    KeyId: key.arn,
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  };
};

interface OpenedCiphertext {
  key: KmsKey;
  material: Buffer;
  plaintext: Buffer;
}

/**
 * Symmetric ciphertexts name their key, so the key is optional; when given it must be that key
 * (IncorrectKeyException otherwise). The key's state is checked before the ciphertext is opened,
 * so a key pending deletion is refused even for a perfectly good ciphertext.
 */
function openCiphertextOfRequest(
  kms: KmsBackend,
  context: RequestContext,
  request: { ciphertext: Buffer; requestedKeyId: string | undefined; encryptionContext: EncryptionContext; operation: string },
): OpenedCiphertext {
  const requestedKey = request.requestedKeyId === undefined ? undefined : kms.store.resolveKey(context, request.requestedKeyId);
  const blobKeyId = ciphertextKeyId(request.ciphertext);
  const key = kms.store.findKey(context, blobKeyId);
  if (requestedKey && requestedKey.keyId !== blobKeyId) {
    throw new AwsServiceError(
      'IncorrectKeyException',
      'The key ID in the request does not identify a KMS key that can perform this operation.',
    );
  }
  if (!key) throw keyNotFound(context, blobKeyId);
  const material = usableMaterial(key, request.operation);
  return { key, material, plaintext: openCiphertext(material, request.ciphertext, request.encryptionContext) };
}

const decrypt: KmsOperation = (kms, input, context) => {
  const ciphertext = requiredBlob(input, 'CiphertextBlob', 6144);
  const encryptionContext = optionalEncryptionContext(input);
  assertSymmetricAlgorithm(input);
  const requestedKeyId = optionalString(input, 'KeyId');
  const { key, material, plaintext } = openCiphertextOfRequest(kms, context, { ciphertext, requestedKeyId, encryptionContext, operation: 'Decrypt' });
  return {
    KeyId: key.arn,
    Plaintext: base64(plaintext),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: keyMaterialId(material),
  };
};

/**
 * Decrypts under the source key and encrypts under the destination key inside KMS, the plaintext
 * never leaving it (API reference, ReEncrypt). The source encryption context must be the one the
 * ciphertext was made with, as for Decrypt.
 */
const reEncrypt: KmsOperation = (kms, input, context) => {
  const ciphertext = requiredBlob(input, 'CiphertextBlob', 6144);
  const destinationKeyId = requiredString(input, 'DestinationKeyId');
  const sourceEncryptionContext = optionalEncryptionContext(input, 'SourceEncryptionContext');
  const destinationEncryptionContext = optionalEncryptionContext(input, 'DestinationEncryptionContext');
  assertSymmetricAlgorithm(input, 'SourceEncryptionAlgorithm');
  assertSymmetricAlgorithm(input, 'DestinationEncryptionAlgorithm');
  const source = openCiphertextOfRequest(kms, context, {
    ciphertext,
    requestedKeyId: optionalString(input, 'SourceKeyId'),
    encryptionContext: sourceEncryptionContext,
    operation: 'ReEncrypt',
  });
  const destination = kms.store.resolveKey(context, destinationKeyId);
  const destinationMaterial = usableMaterial(destination, 'ReEncrypt');
  return {
    CiphertextBlob: base64(sealCiphertext(destination.keyId, destinationMaterial, source.plaintext, destinationEncryptionContext)),
    SourceKeyId: source.key.arn,
    KeyId: destination.arn,
    SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    SourceKeyMaterialId: keyMaterialId(source.material),
    DestinationKeyMaterialId: keyMaterialId(destinationMaterial),
  };
};

/** A new data key sealed under the request's key: what GenerateDataKey and its WithoutPlaintext twin share. */
function sealedDataKey(kms: KmsBackend, input: JsonObject, context: RequestContext, operation: string): { key: KmsKey; material: Buffer; dataKey: Buffer; ciphertext: Buffer } {
  const keyId = requiredString(input, 'KeyId');
  const encryptionContext = optionalEncryptionContext(input);
  const numberOfBytes = optionalInteger(input, 'NumberOfBytes', { min: 1, max: 1024 });
  const keySpec = optionalString(input, 'KeySpec');
  if (keySpec !== undefined && DATA_KEY_BYTES_OF_KEY_SPEC[keySpec] === undefined) {
    throw validationError('KeySpec', keySpec, 'Member must satisfy enum value set: [AES_256, AES_128]');
  }
  const key = kms.store.resolveKey(context, keyId);
  if ((numberOfBytes === undefined) === (keySpec === undefined)) {
    throw new AwsServiceError('ValidationException', 'Specify either NumberOfBytes or KeySpec, but not both.');
  }
  const material = usableMaterial(key, operation);
  const dataKey = randomBytes(numberOfBytes ?? DATA_KEY_BYTES_OF_KEY_SPEC[keySpec ?? 'AES_256'] ?? 32);
  return { key, material, dataKey, ciphertext: sealCiphertext(key.keyId, material, dataKey, encryptionContext) };
}

const generateDataKey: KmsOperation = (kms, input, context) => {
  const { key, material, dataKey, ciphertext } = sealedDataKey(kms, input, context, 'GenerateDataKey');
  return {
    CiphertextBlob: base64(ciphertext),
    Plaintext: base64(dataKey),
    KeyId: key.arn,
    KeyMaterialId: keyMaterialId(material),
  };
};

/** GenerateDataKey without the plaintext data key (API reference): only the sealed copy leaves KMS. */
const generateDataKeyWithoutPlaintext: KmsOperation = (kms, input, context) => {
  const { key, material, dataKey, ciphertext } = sealedDataKey(kms, input, context, 'GenerateDataKeyWithoutPlaintext');
  dataKey.fill(0);
  return { CiphertextBlob: base64(ciphertext), KeyId: key.arn, KeyMaterialId: keyMaterialId(material) };
};

export const CRYPTOGRAPHIC_OPERATIONS: Record<string, KmsOperation> = {
  Encrypt: encrypt,
  Decrypt: decrypt,
  ReEncrypt: reEncrypt,
  GenerateDataKey: generateDataKey,
  GenerateDataKeyWithoutPlaintext: generateDataKeyWithoutPlaintext,
};
