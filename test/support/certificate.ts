import { generateKeyPairSync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { composeCertificate, signCertificate, type CertificateSigner, type SignedCertificate } from '../../functions/lib/erasure/certificate.ts';
import { ledgerDouble } from './ledger-double.ts';
/** A completed erasure in the ledger, and a signer that signs as KMS Sign does: what the certificate tests start from. */

export const subject = 'd'.repeat(32);
export const erasure = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-d';
export const keyArns = ['arn:aws:kms:eu-west-1:111122223333:key/k-1', 'arn:aws:kms:eu-west-1:111122223333:key/k-2'];
export const signingKeyArn = 'arn:aws:kms:eu-west-1:111122223333:key/signing';
export const context = { erasure, tool: { name: 'crypto-erasure', version: '0.1.0' }, performedBy: 'arn:aws:iam::111122223333:role/eraser', issuedAt: new Date('2026-12-21T10:00:05Z') };

/** What KMS Sign does with MessageType DIGEST and ECDSA_SHA_256, with a key of our own. */
export function localSigner() {
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

export async function ledgerOfAnErasure(verified: string[] = keyArns) {
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

export async function signedCertificate(): Promise<{ signed: SignedCertificate; publicKeyPem: string }> {
  const ledger = await ledgerOfAnErasure();
  const { signer, publicKeyPem } = localSigner();
  const certificate = composeCertificate((await ledger.read(subject)).entries, context);
  return { signed: await signCertificate(signer, certificate), publicKeyPem };
}
