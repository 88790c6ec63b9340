import type { KeyObject } from 'node:crypto';
import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import { assertKeyUsage, signingAlgorithmsOf } from './key-specs.ts';
import { assertKeyState } from './key-states.ts';
import type { KmsKey } from './key-store.ts';
import type { KmsBackend, KmsOperation } from './kms-backend.ts';
import { createSignature, isValidSignature, publicKeyDer, SIGNING_ALGORITHMS, type SignatureRequest } from './signatures.ts';
import { base64, optionalString, requiredBlob, requiredString, validationError } from './wire-format.ts';

const MESSAGE_TYPES = ['DIGEST', 'EXTERNAL_MU', 'RAW'];
/** Every signing algorithm of KMS's service model, including those of key specs the embedded KMS lacks. */
const KNOWN_SIGNING_ALGORITHMS = [
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'ED25519_PH_SHA_512',
  'ED25519_SHA_512',
  'ML_DSA_SHAKE_256',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'SM2DSA',
];

function enumMember(input: JsonObject, member: string, values: string[], options: { required: boolean }): string | undefined {
  const value = options.required ? requiredString(input, member) : optionalString(input, member);
  if (value !== undefined && !values.includes(value)) {
    throw validationError(member, value, `Member must satisfy enum value set: [${values.join(', ')}]`);
  }
  return value;
}

/** The key's private key, once its state and usage allow signing with it. */
function usableSigningKey(key: KmsKey, operation: string): KeyObject {
  assertKeyState(key, 'cryptographic');
  assertKeyUsage(key, 'SIGN_VERIFY', operation);
  if (!key.privateKey) throw new AwsServiceError('KMSInvalidStateException', `${key.arn} is pending import.`);
  return key.privateKey;
}

/**
 * What Sign and Verify share: the request's members checked against the service model first
 * (Message 1 to 4,096 bytes whatever its type), then the key (state, usage), then the algorithm
 * against the key spec, then a DIGEST's length against the algorithm's hash.
 */
function signatureRequest(
  kms: KmsBackend,
  input: JsonObject,
  context: RequestContext,
  operation: string,
): { key: KmsKey; privateKey: KeyObject; request: SignatureRequest } {
  const keyId = requiredString(input, 'KeyId');
  const message = requiredBlob(input, 'Message', 4096);
  const messageType = enumMember(input, 'MessageType', MESSAGE_TYPES, { required: false }) ?? 'RAW';
  const algorithmName = enumMember(input, 'SigningAlgorithm', KNOWN_SIGNING_ALGORITHMS, { required: true }) ?? '';
  const key = kms.store.resolveKey(context, keyId);
  const privateKey = usableSigningKey(key, operation);
  const algorithm = SIGNING_ALGORITHMS[algorithmName];
  if (!algorithm || !signingAlgorithmsOf(key.keySpec).includes(algorithmName)) {
    throw new AwsServiceError('InvalidKeyUsageException', `Algorithm ${algorithmName} is incompatible with key spec ${key.keySpec}.`);
  }
  if (messageType !== 'RAW' && messageType !== 'DIGEST') {
    throw new AwsServiceError('ValidationException', `Message type ${messageType} is incompatible with key spec ${key.keySpec}.`);
  }
  if (messageType === 'DIGEST' && message.length !== algorithm.digestBytes) {
    throw new AwsServiceError('ValidationException', `Digest is invalid length for algorithm ${algorithmName}.`);
  }
  return { key, privateKey, request: { keySpec: key.keySpec, algorithm, messageType, message } };
}

const signMessage: KmsOperation = (kms, input, context) => {
  const { key, privateKey, request } = signatureRequest(kms, input, context, 'Sign');
  return {
    KeyId: key.arn,
    Signature: base64(createSignature(privateKey, request)),
    SigningAlgorithm: request.algorithm.name,
  };
};

/**
 * KMS never answers SignatureValid false: a signature that does not verify is
 * KMSInvalidSignatureException (HTTP 400), which AWS sends without a message of its own.
 */
const verifySignature: KmsOperation = (kms, input, context) => {
  const signature = requiredBlob(input, 'Signature', 6144);
  const { key, privateKey, request } = signatureRequest(kms, input, context, 'Verify');
  if (!isValidSignature(privateKey, request, signature)) {
    throw new AwsServiceError('KMSInvalidSignatureException', '');
  }
  return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: request.algorithm.name };
};

/**
 * The key-state table refuses GetPublicKey on a disabled key (DisabledException), as it does Sign.
 * A symmetric key has no public key: KMS answers UnsupportedOperationException, not
 * InvalidKeyUsageException (LocalStack's and other emulators' reading; no AWS document quotes it).
 */
const getPublicKey: KmsOperation = (kms, input, context) => {
  const key = kms.store.resolveKey(context, requiredString(input, 'KeyId'));
  assertKeyState(key, 'cryptographic');
  assertKeyUsage(key, 'SIGN_VERIFY', 'GetPublicKey', 'UnsupportedOperationException');
  if (!key.privateKey) throw new AwsServiceError('KMSInvalidStateException', `${key.arn} is pending import.`);
  return {
    KeyId: key.arn,
    PublicKey: base64(publicKeyDer(key.privateKey)),
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    KeyUsage: key.keyUsage,
    SigningAlgorithms: signingAlgorithmsOf(key.keySpec),
  };
};

export const SIGNING_OPERATIONS: Record<string, KmsOperation> = {
  Sign: signMessage,
  Verify: verifySignature,
  GetPublicKey: getPublicKey,
};
