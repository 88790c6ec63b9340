import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';

/**
 * The CertificateSigningKey of serverless.yml, as the embedded AWS deploys it: created in the
 * embedded KMS behind its alias, named to the notify function by CERTIFICATE_SIGNING_KEY_ARN, and
 * the same key after a restart that keeps its data directory.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'certificate-signing-key-'));
let aws: EmbeddedAws | undefined;

const start = () => startEmbeddedAws({ timeScale: 1, dataDir, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });

beforeAll(async () => {
  aws = await start();
}, 60_000);
afterAll(async () => {
  await aws?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function kms(): KMSClient {
  if (!aws) throw new Error('the embedded AWS did not start');
  return new KMSClient(aws.clientConfig);
}

const certificate = Buffer.from('{"subject":"fp-6f1c","method":"cryptographic erase"}');

describe('the certificate signing key of serverless.yml', () => {
  it('is an ECC_NIST_P256 signing key behind alias/crypto-erasure-certificates-local, the key the notify function is given', async () => {
    const { KeyMetadata } = await kms().send(new DescribeKeyCommand({ KeyId: 'alias/crypto-erasure-certificates-local' }));

    expect(KeyMetadata).toMatchObject({
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      KeyState: 'Enabled',
      KeyManager: 'CUSTOMER',
      Description: 'Signs crypto-erasure certificates (stage local).',
    });
    expect(KeyMetadata?.Arn).toBe(process.env.CERTIFICATE_SIGNING_KEY_ARN);
  });

  it('signs certificates that verify offline with its public key', async () => {
    const keyId = process.env.CERTIFICATE_SIGNING_KEY_ARN;
    const { Signature } = await kms().send(new SignCommand({ KeyId: keyId, Message: certificate, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const { PublicKey } = await kms().send(new GetPublicKeyCommand({ KeyId: keyId }));

    const publicKey = createPublicKey({ key: Buffer.from(PublicKey ?? []), format: 'der', type: 'spki' });
    expect(verify('sha256', certificate, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(Signature ?? []))).toBe(true);
  });

  it('is the same key, with the same public key, after a restart that keeps the data directory', async () => {
    const { PublicKey: before } = await kms().send(new GetPublicKeyCommand({ KeyId: 'alias/crypto-erasure-certificates-local' }));
    const arnBefore = process.env.CERTIFICATE_SIGNING_KEY_ARN;
    await aws?.close();
    aws = undefined;

    aws = await start();
    const { PublicKey: after, KeyId } = await kms().send(new GetPublicKeyCommand({ KeyId: 'alias/crypto-erasure-certificates-local' }));
    expect(KeyId).toBe(arnBefore);
    expect(process.env.CERTIFICATE_SIGNING_KEY_ARN).toBe(arnBefore);
    expect(Buffer.from(after ?? [])).toEqual(Buffer.from(before ?? []));
  }, 60_000);
});
