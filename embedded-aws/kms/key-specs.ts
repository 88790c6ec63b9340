import { AwsServiceError } from '../protocol.ts';
import type { KeySpec, KeyUsage, KmsKey } from './key-store.ts';

/** Every KeySpec and KeyUsage in KMS's service model, as its enum validation lists them. */
const KNOWN_KEY_SPECS = [
  'ECC_NIST_EDWARDS25519',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_1024',
  'ML_KEM_512',
  'ML_KEM_768',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'SM2',
  'SYMMETRIC_DEFAULT',
];
const KNOWN_KEY_USAGES = ['ENCAPSULATE_DECAPSULATE', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'SIGN_VERIFY'];

/** The key usages KMS allows for each key spec (KMS Developer Guide, "Key spec reference"). */
function allowedUsages(keySpec: string): string[] {
  if (keySpec === 'SYMMETRIC_DEFAULT') return ['ENCRYPT_DECRYPT'];
  if (keySpec.startsWith('RSA_')) return ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'];
  if (keySpec.startsWith('ECC_NIST_P')) return ['SIGN_VERIFY', 'KEY_AGREEMENT'];
  if (keySpec === 'ECC_SECG_P256K1' || keySpec === 'ECC_NIST_EDWARDS25519' || keySpec.startsWith('ML_DSA_')) return ['SIGN_VERIFY'];
  if (keySpec.startsWith('HMAC_')) return ['GENERATE_VERIFY_MAC'];
  if (keySpec.startsWith('ML_KEM_')) return ['ENCAPSULATE_DECAPSULATE'];
  return ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'];
}

/** The signing algorithms each signing key spec supports, in the order DescribeKey lists them. */
const SIGNING_ALGORITHMS_OF_KEY_SPEC: Record<Exclude<KeySpec, 'SYMMETRIC_DEFAULT'>, string[]> = {
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
  RSA_2048: rsaSigningAlgorithms(),
  RSA_3072: rsaSigningAlgorithms(),
  RSA_4096: rsaSigningAlgorithms(),
};

function rsaSigningAlgorithms(): string[] {
  return [
    'RSASSA_PKCS1_V1_5_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_384',
    'RSASSA_PKCS1_V1_5_SHA_512',
    'RSASSA_PSS_SHA_256',
    'RSASSA_PSS_SHA_384',
    'RSASSA_PSS_SHA_512',
  ];
}

export function signingAlgorithmsOf(keySpec: KeySpec): string[] {
  return keySpec === 'SYMMETRIC_DEFAULT' ? [] : SIGNING_ALGORITHMS_OF_KEY_SPEC[keySpec];
}

function enumError(member: string, value: string, values: string[]): AwsServiceError {
  const path = member.charAt(0).toLowerCase() + member.slice(1);
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value '${value}' at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`,
  );
}

/**
 * CreateKey's KeySpec and KeyUsage, checked as KMS checks them: unknown values fail the service
 * model's enum, asymmetric keys must name their usage, and a usage the spec cannot serve (an ECC
 * key for ENCRYPT_DECRYPT) is a ValidationException. What KMS allows but the embedded KMS does not
 * implement (HMAC, RSA encryption, key agreement, SM2, ML-DSA...) is UnsupportedOperationException.
 */
export function validatedKeySpec(
  requested: { keySpec: string | undefined; keySpecMember: string; keyUsage: string | undefined },
): { keySpec: KeySpec; keyUsage: KeyUsage } {
  const keySpec = requested.keySpec ?? 'SYMMETRIC_DEFAULT';
  if (!KNOWN_KEY_SPECS.includes(keySpec)) throw enumError(requested.keySpecMember, keySpec, KNOWN_KEY_SPECS);
  if (requested.keyUsage !== undefined && !KNOWN_KEY_USAGES.includes(requested.keyUsage)) {
    throw enumError('KeyUsage', requested.keyUsage, KNOWN_KEY_USAGES);
  }
  if (requested.keyUsage === undefined && keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new AwsServiceError(
      'ValidationException',
      'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
    );
  }
  const keyUsage = requested.keyUsage ?? 'ENCRYPT_DECRYPT';
  if (!allowedUsages(keySpec).includes(keyUsage)) {
    throw new AwsServiceError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
  }
  const implemented =
    keySpec === 'SYMMETRIC_DEFAULT' || (keyUsage === 'SIGN_VERIFY' && keySpec in SIGNING_ALGORITHMS_OF_KEY_SPEC);
  if (!implemented) {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      `The embedded KMS creates only SYMMETRIC_DEFAULT keys and ECC or RSA signing keys, not ${keySpec} keys for ${keyUsage}.`,
    );
  }
  return { keySpec: keySpec as KeySpec, keyUsage: keyUsage as KeyUsage };
}

/**
 * KMS refuses an operation its key's usage does not serve, naming the usage and the operation:
 * "<arn> key usage is SIGN_VERIFY which is not valid for Encrypt." (as AWS answers it).
 */
export function assertKeyUsage(key: KmsKey, usage: KeyUsage, operation: string, code = 'InvalidKeyUsageException'): void {
  if (key.keyUsage === usage) return;
  throw new AwsServiceError(code, `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
}
