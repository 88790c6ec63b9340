import { readFileSync, writeFileSync } from 'node:fs';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import type { SignedCertificate } from '../../functions/lib/erasure/certificate.ts';
import { readPublicKey, verifyCertificate, type CertificateCheck } from '../../functions/lib/erasure/certificate-verification.ts';
import { CliError } from '../exit-codes.ts';
import type { Target } from '../target.ts';

/**
 * `erasure verify-certificate`: checks a signed certificate offline, with the public key alone.
 * Accepts the signed certificate itself (`erasure certificate` writes one), or the completed
 * notification that carries it.
 */
export function verifyCertificateFile(file: string, publicKeyFile: string): CertificateCheck {
  const document = readJson(file);
  let publicKey;
  try {
    publicKey = readPublicKey(readFileSync(publicKeyFile));
  } catch (error) {
    throw new CliError('badInput', `cannot read a public key from ${publicKeyFile}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const inner = (document as { certificate?: { certificate?: unknown } } | null)?.certificate;
  const signed = inner && typeof inner === 'object' && 'certificate' in inner ? inner : document;
  return verifyCertificate(signed, publicKey);
}

/** `erasure public-key`: the certificate signing key's public half, as PEM, for auditors to keep. */
export async function exportPublicKey(target: Target, out: string | undefined): Promise<{ keyArn: string; pem: string }> {
  const response = await target.clients.kms.send(new GetPublicKeyCommand({ KeyId: target.resources.signingKeyAlias }));
  if (!response.PublicKey) throw new CliError('failed', `KMS returned no public key for ${target.resources.signingKeyAlias}`);
  const pem = readPublicKey(Buffer.from(response.PublicKey)).export({ type: 'spki', format: 'pem' }).toString();
  if (out) writeFileSync(out, pem);
  return { keyArn: response.KeyId ?? target.resources.signingKeyAlias, pem };
}

/** `erasure certificate`: the subject's signed certificate, from the ledger. */
export async function certificateOf(target: Target, subject: string): Promise<SignedCertificate> {
  const record = await target.ledger.read(subject);
  const issued = record.entries.findLast((entry) => entry.event.type === 'CertificateIssued');
  if (issued?.event.type !== 'CertificateIssued') {
    throw new CliError('badInput', `the ledger holds no certificate for subject ${subject}${record.entries.length === 0 ? ' (nor anything else about it)' : ''}`);
  }
  return issued.event.certificate as SignedCertificate;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError('badInput', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError('badInput', `${file} is not JSON: ${(error as Error).message}`);
  }
}
