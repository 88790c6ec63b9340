import { constants, generateKeyPair, privateDecrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { AwsServiceError } from '../protocol.ts';
import type { ImportParameters } from './key-store.ts';

const generateRsaKeyPair = promisify(generateKeyPair);

/** KMS's import parameters stay valid for 24 hours. */
const IMPORT_PARAMETERS_LIFETIME_MS = 24 * 60 * 60 * 1000;

const OAEP_HASH_OF_WRAPPING_ALGORITHM: Record<string, 'sha1' | 'sha256'> = {
  RSAES_OAEP_SHA_256: 'sha256',
  RSAES_OAEP_SHA_1: 'sha1',
};
const KNOWN_WRAPPING_ALGORITHMS = [
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSAES_PKCS1_V1_5',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'SM2PKE',
];
const MODULUS_BITS_OF_WRAPPING_KEY_SPEC: Record<string, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/** A fresh RSA wrapping key pair and import token, as GetParametersForImport hands them out. */
export async function createImportParameters(
  wrappingAlgorithm: string,
  wrappingKeySpec: string,
  now: Date,
): Promise<{ parameters: ImportParameters; publicKey: Buffer }> {
  if (!KNOWN_WRAPPING_ALGORITHMS.includes(wrappingAlgorithm)) {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: Value '${wrappingAlgorithm}' at 'wrappingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [${KNOWN_WRAPPING_ALGORITHMS.join(', ')}]`,
    );
  }
  const oaepHash = OAEP_HASH_OF_WRAPPING_ALGORITHM[wrappingAlgorithm];
  if (!oaepHash) {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      `The embedded KMS wraps imported key material only with RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1, not ${wrappingAlgorithm}.`,
    );
  }
  const modulusLength = MODULUS_BITS_OF_WRAPPING_KEY_SPEC[wrappingKeySpec];
  if (!modulusLength) {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: Value '${wrappingKeySpec}' at 'wrappingKeySpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096]`,
    );
  }
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', { modulusLength });
  return {
    parameters: {
      importToken: randomBytes(64),
      wrappingPrivateKey: privateKey,
      oaepHash,
      validTo: new Date(now.getTime() + IMPORT_PARAMETERS_LIFETIME_MS),
    },
    publicKey: publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** Checks the import token and unwraps the encrypted key material with the matching private key. */
export function unwrapKeyMaterial(
  parameters: ImportParameters | undefined,
  importToken: Buffer,
  encryptedKeyMaterial: Buffer,
  now: Date,
): Buffer {
  if (
    !parameters ||
    parameters.importToken.length !== importToken.length ||
    !timingSafeEqual(parameters.importToken, importToken)
  ) {
    throw new AwsServiceError(
      'InvalidImportTokenException',
      'The import token is not valid for this KMS key. Call GetParametersForImport for new parameters.',
    );
  }
  if (now.getTime() >= parameters.validTo.getTime()) {
    throw new AwsServiceError(
      'ExpiredImportTokenException',
      'The import token has expired. Call GetParametersForImport for new parameters.',
    );
  }
  let material: Buffer;
  try {
    material = privateDecrypt(
      { key: parameters.wrappingPrivateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: parameters.oaepHash },
      encryptedKeyMaterial,
    );
  } catch {
    throw new AwsServiceError(
      'InvalidCiphertextException',
      'The encrypted key material could not be unwrapped with the wrapping key of these import parameters.',
    );
  }
  // A symmetric encryption KMS key takes exactly 256 bits of imported material.
  if (material.length !== 32) {
    throw new AwsServiceError(
      'IncorrectKeyMaterialException',
      `Imported key material for a SYMMETRIC_DEFAULT key must be 32 bytes, got ${material.length}.`,
    );
  }
  return material;
}
