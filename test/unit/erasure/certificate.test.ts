import { generateKeyPairSync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/lib/erasure/canonical-json.ts';
import { composeCertificate, signCertificate, type CertificateSigner, type SignedCertificate } from '../../../functions/lib/erasure/certificate.ts';
import { verifyCertificate } from '../../../functions/lib/erasure/certificate-verification.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';

const subject = 'd'.repeat(32);
const erasure = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-d';
const keyArns = ['arn:aws:kms:eu-west-1:111122223333:key/k-1', 'arn:aws:kms:eu-west-1:111122223333:key/k-2'];
const signingKeyArn = 'arn:aws:kms:eu-west-1:111122223333:key/signing';
const context = { erasure, tool: { name: 'crypto-erasure', version: '0.1.0' }, performedBy: 'arn:aws:iam::111122223333:role/eraser', issuedAt: new Date('2026-12-21T10:00:05Z') };

/** What KMS Sign does with MessageType DIGEST and ECDSA_SHA_256, with a key of our own. */
function localSigner() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer: CertificateSigner = {
    async sign(digest) {
      // ECDSA over a precomputed SHA-256 digest, which node:crypto cannot do (it always hashes).
      const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      return { keyArn: signingKeyArn, signature: Buffer.from(p256.sign(digest, d, { prehash: false, format: 'der' })) };
    },
  };
  return { signer, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

async function ledgerOfAnErasure(verified: string[] = keyArns) {
  const ledger = ledgerDouble();
  await ledger.record(subject, null, { type: 'ClosureReceived', eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z' });
  await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-d' });
  await ledger.record(subject, erasure, { type: 'KeysResolved', keys: keyArns.map((keyArn, n) => ({ keyArn, keyId: `k-${n + 1}`, origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' })) });
  for (const keyArn of keyArns) {
    await ledger.record(subject, erasure, { type: 'KeyDisabled', keyArn, outcome: 'disabled' });
    await ledger.record(subject, erasure, { type: 'KeyDeletionScheduled', keyArn, deletionDate: '2026-12-20T09:30:00Z', pendingWindowDays: 30, alreadyScheduled: false });
  }
  await ledger.record(subject, erasure, { type: 'DeletionVerified', checkedAt: '2026-12-21T10:00:00Z', keys: verified.map((keyArn) => ({ keyArn, verifiedDeletedAt: '2026-12-21T10:00:00Z' })) });
  return ledger;
}

async function signedCertificate(): Promise<{ signed: SignedCertificate; publicKeyPem: string }> {
  const ledger = await ledgerOfAnErasure();
  const { signer, publicKeyPem } = localSigner();
  const certificate = composeCertificate((await ledger.read(subject)).entries, context);
  return { signed: await signCertificate(signer, certificate), publicKeyPem };
}

describe('the erasure certificate', () => {
  it('carries what NIST SP 800-88 asks, every date taken from the ledger', async () => {
    const ledger = await ledgerOfAnErasure();
    const { entries } = await ledger.read(subject);
    const certificate = composeCertificate(entries, context);
    expect(certificate).toMatchObject({
      certificateId: expect.stringMatching(/^cert-[0-9a-f]{32}$/),
      subject,
      erasure,
      closure: { eventId: 'e-1', source: 'com.example.accounts', closedAt: '2026-11-20T09:29:41Z', receivedAt: entries[0]!.recordedAt },
      method: { category: 'Purge', technique: 'Cryptographic Erase', standard: 'NIST SP 800-88 Rev. 2' },
      tool: { name: 'crypto-erasure', version: '0.1.0' },
      verification: { result: 'Passed', verifiedAt: '2026-12-21T10:00:00Z' },
      dates: { deletionDate: '2026-12-20T09:30:00Z', verifiedDeletedAt: '2026-12-21T10:00:00Z' },
      performedBy: 'arn:aws:iam::111122223333:role/eraser',
      ledger: { subject, chainHead: { sequence: entries.length, hash: entries.at(-1)!.hash } },
    });
    expect(certificate.sanitized.keys).toEqual(
      keyArns.map((keyArn) => expect.objectContaining({ keyArn, region: 'eu-west-1', accountId: '111122223333', origin: 'AWS_KMS', disableOutcome: 'disabled', verifiedDeletedAt: '2026-12-21T10:00:00Z' })),
    );
    expect(JSON.stringify(certificate)).not.toContain('user-');
  });

  it('is never issued while one of several keys is not verified deleted', async () => {
    const ledger = await ledgerOfAnErasure([keyArns[0]!]);
    expect(() => composeCertificate(ledger.table.rows.get(subject)!, context)).toThrow(`key ${keyArns[1]} of erasure ${erasure} is not verified deleted`);
  });

  it('is never issued for an erasure the ledger does not show verified', async () => {
    const ledger = ledgerDouble();
    await ledger.record(subject, erasure, { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-d' });
    expect(() => composeCertificate(ledger.table.rows.get(subject)!, context)).toThrow(/no verified deletion/);
  });

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
});

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('serialises numbers as ECMAScript does, as the RFC requires', () => {
    expect(canonicalJson({ n: [1e21, 0.000001, -0, 10.0] })).toBe('{"n":[1e+21,0.000001,0,10]}');
  });
});
