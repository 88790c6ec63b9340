import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/lib/erasure/canonical-json.ts';
import { signCertificate, type ErasureCertificate } from '../../../functions/lib/erasure/certificate.ts';
import { verifyCertificate } from '../../../functions/lib/erasure/certificate-verification.ts';
import { localSigner, signedCertificate, signingKeyArn } from '../../support/certificate.ts';

const SIGNATURE = { algorithm: 'ECDSA_SHA_256', canonicalization: 'RFC 8785 (JSON Canonicalization Scheme)' };

describe('verifyCertificate', () => {
  it('verifies offline with the public key alone', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    expect(verifyCertificate(JSON.parse(JSON.stringify(signed)), publicKeyPem)).toMatchObject({ valid: true, certificateId: signed.certificate.certificateId, keyArn: signingKeyArn });
  });

  it('fails verification when any byte of the certificate changes', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    const text = canonicalJson(signed.certificate);
    let checked = 0;
    // Flip every 7th character (and the last), each change re-parsed as JSON where it still parses.
    for (let index = 0; index < text.length; index += index + 7 >= text.length && index !== text.length - 1 ? text.length - 1 - index : 7) {
      const flipped = text.slice(0, index) + String.fromCharCode(text.charCodeAt(index) ^ 1) + text.slice(index + 1);
      let certificate: unknown;
      try {
        certificate = JSON.parse(flipped);
      } catch {
        continue;
      }
      checked++;
      expect(verifyCertificate({ ...signed, certificate }, publicKeyPem).valid, `byte ${index} changed`).toBe(false);
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('fails verification when any byte of the signature changes, or another key is used', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    const signature = Buffer.from(signed.signature.value, 'base64');
    for (let index = 0; index < signature.length; index++) {
      const altered = Buffer.from(signature);
      altered[index]! ^= 0x01;
      expect(verifyCertificate({ ...signed, signature: { ...signed.signature, value: altered.toString('base64') } }, publicKeyPem).valid).toBe(false);
    }
    expect(verifyCertificate(signed, localSigner().publicKeyPem)).toMatchObject({ valid: false, problem: expect.stringContaining('does not match') });
  });

  it('explains what is wrong with a document that is not a signed certificate', () => {
    const { publicKeyPem } = localSigner();
    expect(verifyCertificate({ certificateVersion: 2 }, publicKeyPem)).toMatchObject({ valid: false, problem: expect.stringContaining('not a signed erasure certificate') });
    expect(verifyCertificate({ certificate: {}, signature: { algorithm: 'ECDSA_SHA_256', canonicalization: 'RFC 8785 (JSON Canonicalization Scheme)', value: 'abc' } }, 'not a key')).toMatchObject({
      valid: false,
      problem: expect.stringContaining('unreadable public key'),
    });
  });

  it('names the certificate, subject, erasure, completion and signing key of a certificate that verifies', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    expect(verifyCertificate(signed, publicKeyPem)).toEqual({
      valid: true,
      certificateId: signed.certificate.certificateId,
      subject: signed.certificate.subject,
      erasure: signed.certificate.erasure,
      completedAt: '2026-12-21T10:00:00Z',
      keyArn: signingKeyArn,
    });
  });

  it.each([
    ['a PEM text', (pem: string) => pem],
    ['PEM bytes', (pem: string) => Buffer.from(pem)],
    ['the DER that KMS GetPublicKey returns', (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' })],
    ['a KeyObject', (pem: string) => createPublicKey(pem)],
  ])('verifies with the public key given as %s', async (_form, asGiven) => {
    const { signed, publicKeyPem } = await signedCertificate();
    expect(verifyCertificate(signed, asGiven(publicKeyPem))).toMatchObject({ valid: true });
  });

  it('refuses a certificate or a signature that is not an object', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    const notSigned = { valid: false, problem: 'not a signed erasure certificate: expected { certificate, signature }' };
    expect(verifyCertificate({ certificate: canonicalJson(signed.certificate), signature: signed.signature }, publicKeyPem)).toEqual(notSigned);
    expect(verifyCertificate({ certificate: signed.certificate, signature: signed.signature.value }, publicKeyPem)).toEqual(notSigned);
    expect(verifyCertificate(null, publicKeyPem)).toEqual(notSigned);
  });

  it('refuses a signing algorithm or canonicalization it does not implement, naming it', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    expect(verifyCertificate({ ...signed, signature: { ...signed.signature, algorithm: 'RSASSA_PSS_SHA_256' } }, publicKeyPem)).toEqual({ valid: false, problem: 'unsupported signing algorithm RSASSA_PSS_SHA_256' });
    expect(verifyCertificate({ ...signed, signature: { ...signed.signature, canonicalization: 'JSON.stringify' } }, publicKeyPem)).toEqual({ valid: false, problem: 'unsupported canonicalization JSON.stringify' });
  });

  it.each([
    ['a number', 12345],
    ['base64 with text before it', `signature:${'A'.repeat(8)}`],
    ['base64 with text after it', `${'A'.repeat(8)} (KMS)`],
  ])('refuses a signature value that is %s as not base64', async (_what, value) => {
    const { signed, publicKeyPem } = await signedCertificate();
    expect(verifyCertificate({ ...signed, signature: { ...signed.signature, value } }, publicKeyPem)).toEqual({ valid: false, problem: 'the signature is not base64' });
  });

  it('refuses a certificate that has no canonical JSON form', async () => {
    const { signed, publicKeyPem } = await signedCertificate();
    expect(verifyCertificate({ ...signed, certificate: { ...signed.certificate, issuedAt: 10n } }, publicKeyPem)).toMatchObject({
      valid: false,
      problem: expect.stringMatching(/^the certificate is not JSON that can be canonicalised: .+/),
    });
  });

  it('verifies a document signed without a signing key ARN or completion dates, naming neither', async () => {
    const { signer, publicKeyPem } = localSigner();
    const { signed: complete } = await signedCertificate();
    const { dates: _dates, ...withoutDates } = complete.certificate;
    const signed = await signCertificate(signer, withoutDates as ErasureCertificate);
    const { keyArn: _keyArn, ...signature } = signed.signature;
    expect(verifyCertificate({ certificate: signed.certificate, signature: { ...signature, ...SIGNATURE } }, publicKeyPem)).toEqual({
      valid: true,
      certificateId: complete.certificate.certificateId,
      subject: complete.certificate.subject,
      erasure: complete.certificate.erasure,
      completedAt: undefined,
      keyArn: '',
    });
  });
});
