import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { KeySpec } from './key-store.ts';

/**
 * Asymmetric signing as KMS does it. ECDSA signatures are DER-encoded; RSASSA-PSS uses MGF1 with
 * the message's hash and a salt as long as that hash. A RAW message is hashed and signed by
 * node:crypto; a DIGEST (the caller hashed the message) must be signed as it is, which node:crypto
 * cannot do (its sign() always hashes): @noble/curves signs and verifies an ECDSA digest, and the
 * RSA encodings of a digest are written below.
 */

type HashName = 'sha256' | 'sha384' | 'sha512';

export interface SigningAlgorithm {
  name: string;
  scheme: 'ECDSA' | 'RSASSA_PSS' | 'RSASSA_PKCS1_V1_5';
  hash: HashName;
  digestBytes: number;
}

const HASH_BYTES: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

export const SIGNING_ALGORITHMS: Readonly<Record<string, SigningAlgorithm>> = Object.fromEntries(
  (['ECDSA', 'RSASSA_PSS', 'RSASSA_PKCS1_V1_5'] as const).flatMap((scheme) =>
    (['sha256', 'sha384', 'sha512'] as const).map((hash) => {
      const name = `${scheme}_SHA_${hash.slice(3)}`;
      return [name, { name, scheme, hash, digestBytes: HASH_BYTES[hash] }];
    }),
  ),
);

/** KMS's ECC key specs: node's curve name, to generate keys and sign RAW messages, and noble's curve, to sign DIGESTs. */
interface Curve {
  name: string;
  ecdsa: ECDSA;
}

const CURVES: Partial<Record<KeySpec, Curve>> = {
  ECC_NIST_P256: { name: 'prime256v1', ecdsa: p256 },
  ECC_NIST_P384: { name: 'secp384r1', ecdsa: p384 },
  ECC_NIST_P521: { name: 'secp521r1', ecdsa: p521 },
  ECC_SECG_P256K1: { name: 'secp256k1', ecdsa: secp256k1 },
};

const MODULUS_BITS: Partial<Record<KeySpec, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/** A fresh key pair for a signing key spec; only its private key is kept, the public key derives from it. */
export function generateSigningKey(keySpec: KeySpec): KeyObject {
  const curve = CURVES[keySpec];
  if (curve) return generateKeyPairSync('ec', { namedCurve: curve.name }).privateKey;
  const modulusLength = MODULUS_BITS[keySpec];
  if (modulusLength) return generateKeyPairSync('rsa', { modulusLength, publicExponent: 0x10001 }).privateKey;
  throw new RangeError(`${keySpec} is not a signing key spec`);
}

/** The public key as GetPublicKey returns it: a DER-encoded X.509 SubjectPublicKeyInfo. */
export function publicKeyDer(privateKey: KeyObject): Buffer {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
}

export interface SignatureRequest {
  keySpec: KeySpec;
  algorithm: SigningAlgorithm;
  messageType: 'RAW' | 'DIGEST';
  message: Buffer;
}

export function createSignature(privateKey: KeyObject, request: SignatureRequest): Buffer {
  const { algorithm, message } = request;
  if (request.messageType === 'RAW') return sign(algorithm.hash, message, nodeSignOptions(privateKey, algorithm));
  if (algorithm.scheme === 'ECDSA') return ecdsaSignDigest(privateKey, curveOf(request.keySpec), message);
  if (algorithm.scheme === 'RSASSA_PKCS1_V1_5') {
    return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo(algorithm.hash, message));
  }
  const encoded = emsaPssEncode(message, algorithm.hash, modulusBits(privateKey) - 1);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, leftPad(encoded, modulusBytes(privateKey)));
}

export function isValidSignature(privateKey: KeyObject, request: SignatureRequest, signature: Buffer): boolean {
  const { algorithm, message } = request;
  const publicKey = createPublicKey(privateKey);
  try {
    if (request.messageType === 'RAW') return verify(algorithm.hash, message, nodeSignOptions(publicKey, algorithm), signature);
    if (algorithm.scheme === 'ECDSA') return ecdsaVerifyDigest(publicKey, curveOf(request.keySpec), message, signature);
    if (signature.length !== modulusBytes(publicKey)) return false;
    if (algorithm.scheme === 'RSASSA_PKCS1_V1_5') {
      const recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.equals(digestInfo(algorithm.hash, message));
    }
    const encoded = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
    return emsaPssVerify(message, encoded, algorithm.hash, modulusBits(publicKey) - 1);
  } catch {
    // A signature that is not even well-formed (bad DER, out of range) is simply not valid.
    return false;
  }
}

function nodeSignOptions(key: KeyObject, algorithm: SigningAlgorithm) {
  if (algorithm.scheme === 'ECDSA') return { key, dsaEncoding: 'der' as const };
  if (algorithm.scheme === 'RSASSA_PKCS1_V1_5') return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
}

function curveOf(keySpec: KeySpec): Curve {
  const curve = CURVES[keySpec];
  if (!curve) throw new RangeError(`${keySpec} is not an ECC key spec`);
  return curve;
}

function modulusBits(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

function modulusBytes(key: KeyObject): number {
  return Math.ceil(modulusBits(key) / 8);
}

/** A JWK coordinate or private scalar, which node pads to the curve's length as RFC 7518 requires and noble expects. */
function jwkBytes(value: string | undefined): Buffer {
  return Buffer.from(value ?? '', 'base64url');
}

/**
 * KMS's ECDSA signatures differ from one call to the next: extraEntropy hedges RFC 6979's
 * deterministic nonce with fresh randomness. noble's signatures are low-S.
 */
function ecdsaSignDigest(privateKey: KeyObject, curve: Curve, digest: Buffer): Buffer {
  const secretKey = jwkBytes(privateKey.export({ format: 'jwk' }).d);
  return Buffer.from(curve.ecdsa.sign(digest, secretKey, { prehash: false, format: 'der', extraEntropy: true }));
}

/** lowS: false because KMS, like OpenSSL, accepts high-S signatures, and node:crypto makes them half the time. */
function ecdsaVerifyDigest(publicKey: KeyObject, curve: Curve, digest: Buffer, signature: Buffer): boolean {
  const jwk = publicKey.export({ format: 'jwk' });
  const uncompressedPoint = Buffer.concat([Buffer.from([0x04]), jwkBytes(jwk.x), jwkBytes(jwk.y)]);
  return curve.ecdsa.verify(signature, digest, uncompressedPoint, { prehash: false, format: 'der', lowS: false });
}

/*
 * RSA over a DIGEST is hand-written because no library at hand signs an RSA digest as it is:
 * node:crypto's sign() always hashes, and @noble/curves has only elliptic curves. node:crypto's raw
 * RSA operation (privateEncrypt, publicDecrypt) still does the arithmetic; only RFC 8017's
 * encodings of the digest (DigestInfo for PKCS #1 v1.5, EMSA-PSS) are here.
 */

/** DER DigestInfo prefixes of RFC 8017, section 9.2, note 1. */
const DIGEST_INFO_PREFIX: Record<HashName, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

function digestInfo(hash: HashName, digest: Buffer): Buffer {
  return Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
}

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * HASH_BYTES[hash] < length; counter++) {
    const counterBytes = Buffer.alloc(4);
    counterBytes.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(seed).update(counterBytes).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function xor(left: Buffer, right: Buffer): Buffer {
  return Buffer.from(left.map((byte, index) => byte ^ (right[index] ?? 0)));
}

function leftPad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}

/** EMSA-PSS-ENCODE (RFC 8017, section 9.1.1) with a salt as long as the hash, as KMS signs. */
function emsaPssEncode(digest: Buffer, hash: HashName, emBits: number): Buffer {
  const hashBytes = HASH_BYTES[hash];
  const emLength = Math.ceil(emBits / 8);
  const salt = randomBytes(hashBytes);
  const h = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLength - 2 * hashBytes - 2), Buffer.from([0x01]), salt]);
  const maskedDb = xor(db, mgf1(hash, h, emLength - hashBytes - 1));
  maskedDb[0] = (maskedDb[0] ?? 0) & (0xff >> (8 * emLength - emBits));
  return Buffer.concat([maskedDb, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017, section 9.1.2), salt length equal to the hash length. */
function emsaPssVerify(digest: Buffer, encodedMessage: Buffer, hash: HashName, emBits: number): boolean {
  const hashBytes = HASH_BYTES[hash];
  const emLength = Math.ceil(emBits / 8);
  const em = encodedMessage.subarray(encodedMessage.length - emLength);
  if (encodedMessage.subarray(0, encodedMessage.length - emLength).some((byte) => byte !== 0)) return false;
  if (em.length < 2 * hashBytes + 2 || em[em.length - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLength - hashBytes - 1);
  const h = em.subarray(emLength - hashBytes - 1, emLength - 1);
  const topBitsMask = 0xff >> (8 * emLength - emBits);
  if (((maskedDb[0] ?? 0) & ~topBitsMask & 0xff) !== 0) return false;
  const db = xor(maskedDb, mgf1(hash, h, maskedDb.length));
  db[0] = (db[0] ?? 0) & topBitsMask;
  const separator = emLength - 2 * hashBytes - 2;
  if (db.subarray(0, separator).some((byte) => byte !== 0) || db[separator] !== 0x01) return false;
  const salt = db.subarray(db.length - hashBytes);
  return createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest().equals(h);
}
