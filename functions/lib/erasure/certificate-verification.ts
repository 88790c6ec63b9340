import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CANONICALIZATION, SIGNING_ALGORITHM, signedBytes, type SignedCertificate } from './certificate.ts';

export type CertificateCheck =
  | { valid: true; certificateId: string; subject: string; erasure: string; completedAt: string; keyArn: string }
  | { valid: false; problem: string };

/**
 * Checks a signed certificate offline, with nothing but the signing key's public key (PEM, as
 * `erasure public-key` exports it, or the DER that KMS GetPublicKey returns): no AWS access, so an
 * auditor can do it years later, on any machine. Any changed byte of the certificate or of its
 * signature fails the check.
 */
export function verifyCertificate(document: unknown, publicKey: string | Buffer | KeyObject): CertificateCheck {
  const signed = document as Partial<SignedCertificate> | null;
  const certificate = signed?.certificate;
  const signature = signed?.signature;
  if (!certificate || typeof certificate !== 'object' || !signature || typeof signature !== 'object') {
    return { valid: false, problem: 'not a signed erasure certificate: expected { certificate, signature }' };
  }
  if (signature.algorithm !== SIGNING_ALGORITHM) return { valid: false, problem: `unsupported signing algorithm ${String(signature.algorithm)}` };
  if (signature.canonicalization !== CANONICALIZATION) return { valid: false, problem: `unsupported canonicalization ${String(signature.canonicalization)}` };
  if (typeof signature.value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature.value)) {
    return { valid: false, problem: 'the signature is not base64' };
  }

  let key: KeyObject;
  try {
    key = typeof publicKey === 'object' && 'asymmetricKeyType' in publicKey ? publicKey : readPublicKey(publicKey as string | Buffer);
  } catch (error) {
    return { valid: false, problem: `unreadable public key: ${(error as Error).message}` };
  }
  let bytes: Buffer;
  try {
    bytes = signedBytes(certificate);
  } catch (error) {
    return { valid: false, problem: `the certificate is not JSON that can be canonicalised: ${(error as Error).message}` };
  }
  const intact = verify('sha256', bytes, { key, dsaEncoding: 'der' }, Buffer.from(signature.value, 'base64'));
  if (!intact) return { valid: false, problem: 'the signature does not match the certificate: it was altered, or signed by another key' };
  return {
    valid: true,
    certificateId: certificate.certificateId,
    subject: certificate.subject,
    erasure: certificate.erasure,
    completedAt: certificate.dates?.completedAt,
    keyArn: signature.keyArn ?? '',
  };
}

/** A public key as PEM text, or as the DER SubjectPublicKeyInfo that KMS GetPublicKey returns. */
export function readPublicKey(publicKey: string | Buffer): KeyObject {
  if (typeof publicKey === 'string' || publicKey.toString('utf8', 0, 10).startsWith('-----BEGIN')) {
    return createPublicKey({ key: publicKey, format: 'pem' });
  }
  return createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
}
