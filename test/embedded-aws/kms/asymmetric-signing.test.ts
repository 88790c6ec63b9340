import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetPublicKeyCommand,
  type KeySpec,
  type KMSClient,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type SigningAlgorithmSpec,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { p256, p521 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { ECC_CRYPTOGRAPHIC_OPERATIONS, KMS_REQUEST_QUOTAS, RSA_CRYPTOGRAPHIC_OPERATIONS } from '../../../embedded-aws/kms/index.ts';
import { RequestQuotas } from '../../../embedded-aws/kms/request-quotas.ts';
import { ACCOUNT_ID, createKey, DAY_MS, HOME_REGION, kmsForThisFile, startKms } from './kms-harness.ts';

const harness = kmsForThisFile();

const certificate = Buffer.from(JSON.stringify({ subject: 'fp-6f1c', method: 'cryptographic erase', erasedAt: '2026-03-08T09:00:00Z' }));

async function signingKey(keySpec: KeySpec = 'ECC_NIST_P256'): Promise<{ keyId: string; arn: string }> {
  return createKey(harness.client(), { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY', Description: 'signs erasure certificates' });
}

async function publicKeyOf(kms: KMSClient, keyId: string): Promise<KeyObject> {
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(PublicKey ?? []), format: 'der', type: 'spki' });
}

async function signatureOf(keyId: string, message: Buffer, options: { algorithm?: SigningAlgorithmSpec; digest?: boolean } = {}): Promise<Buffer> {
  const { Signature } = await harness.client().send(
    new SignCommand({
      KeyId: keyId,
      Message: message,
      MessageType: options.digest ? 'DIGEST' : 'RAW',
      SigningAlgorithm: options.algorithm ?? 'ECDSA_SHA_256',
    }),
  );
  return Buffer.from(Signature ?? []);
}

/** node:crypto's own check of a KMS signature over the raw message, as an auditor would run it offline. */
function verifiesOffline(publicKey: KeyObject, algorithm: SigningAlgorithmSpec, message: Buffer, signature: Buffer): boolean {
  const hash = `sha${algorithm.slice(-3)}`;
  if (algorithm.startsWith('ECDSA')) return verify(hash, message, { key: publicKey, dsaEncoding: 'der' }, signature);
  if (algorithm.startsWith('RSASSA_PSS')) {
    return verify(hash, message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  }
  return verify(hash, message, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
}

describe('creating signing keys', () => {
  it('describes an ECC_NIST_P256 signing key as KMS does', async () => {
    const { KeyMetadata: created } = await harness
      .client()
      .send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'signs erasure certificates' }));
    const { KeyMetadata: described } = await harness.client().send(new DescribeKeyCommand({ KeyId: created?.KeyId }));

    for (const metadata of [created, described]) {
      expect(metadata).toMatchObject({
        KeySpec: 'ECC_NIST_P256',
        CustomerMasterKeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['ECDSA_SHA_256'],
        KeyState: 'Enabled',
        Origin: 'AWS_KMS',
      });
      expect(metadata?.EncryptionAlgorithms).toBeUndefined();
    }
  });

  it.each([
    ['ECC_NIST_P384', ['ECDSA_SHA_384']],
    ['ECC_NIST_P521', ['ECDSA_SHA_512']],
    ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
    [
      'RSA_2048',
      [
        'RSASSA_PKCS1_V1_5_SHA_256',
        'RSASSA_PKCS1_V1_5_SHA_384',
        'RSASSA_PKCS1_V1_5_SHA_512',
        'RSASSA_PSS_SHA_256',
        'RSASSA_PSS_SHA_384',
        'RSASSA_PSS_SHA_512',
      ],
    ],
  ] as const)('lists the signing algorithms of a %s key', async (keySpec, algorithms) => {
    const key = await signingKey(keySpec);
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: key.keyId }));
    expect(KeyMetadata).toMatchObject({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: algorithms });
  });

  it('refuses an ECC key for encryption with ValidationException', async () => {
    await expect(
      harness.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: 'KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256' });
  });

  it('refuses an asymmetric key spec without a KeyUsage', async () => {
    await expect(harness.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
    });
  });

  it('refuses a key spec KMS does not know, as its service model does', async () => {
    await expect(
      harness.client().send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P999' as KeySpec, KeyUsage: 'SIGN_VERIFY' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^1 validation error detected: Value 'ECC_NIST_P999' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[.*ECC_NIST_P256.*\]$/,
      ),
    });
  });
});

describe('Sign, Verify and GetPublicKey', () => {
  it('signs a certificate that node:crypto verifies offline with the public key from GetPublicKey', async () => {
    const key = await signingKey();
    const signature = await signatureOf(key.keyId, certificate);
    const publicKey = await publicKeyOf(harness.client(), key.keyId);

    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(verify('sha256', certificate, { key: publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
  });

  it('answers Sign with the key ARN and the algorithm used', async () => {
    const key = await signingKey();
    const signed = await harness
      .client()
      .send(new SignCommand({ KeyId: key.keyId, Message: certificate, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(signed).toMatchObject({ KeyId: key.arn, SigningAlgorithm: 'ECDSA_SHA_256', Signature: expect.any(Uint8Array) });
  });

  it('describes the public key in GetPublicKey', async () => {
    const key = await signingKey();
    const answer = await harness.client().send(new GetPublicKeyCommand({ KeyId: key.keyId }));
    expect(answer).toMatchObject({
      KeyId: key.arn,
      KeySpec: 'ECC_NIST_P256',
      CustomerMasterKeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
  });

  it('verifies the signature Sign returned, by alias too', async () => {
    const key = await signingKey();
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/certificates-test', TargetKeyId: key.keyId }));
    const signature = await signatureOf(key.keyId, certificate);
    const verified = await harness.client().send(
      new VerifyCommand({ KeyId: 'alias/certificates-test', Message: certificate, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    expect(verified).toMatchObject({ KeyId: key.arn, SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' });
  });

  it('refuses a signature with one byte flipped with KMSInvalidSignatureException, HTTP 400', async () => {
    const key = await signingKey();
    const signature = await signatureOf(key.keyId, certificate);
    signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
    await expect(
      harness.client().send(new VerifyCommand({ KeyId: key.keyId, Message: certificate, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toMatchObject({ name: 'KMSInvalidSignatureException', $metadata: { httpStatusCode: 400 } });
  });

  it('refuses the signature of another message', async () => {
    const key = await signingKey();
    const signature = await signatureOf(key.keyId, certificate);
    await expect(
      harness.client().send(
        new VerifyCommand({ KeyId: key.keyId, Message: Buffer.from('a forged certificate'), Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
      ),
    ).rejects.toMatchObject({ name: 'KMSInvalidSignatureException' });
  });

  it('signs a DIGEST as the signature of the message it is the digest of', async () => {
    const key = await signingKey();
    const digest = createHash('sha256').update(certificate).digest();
    const signature = await signatureOf(key.keyId, digest, { digest: true });

    expect(verifiesOffline(await publicKeyOf(harness.client(), key.keyId), 'ECDSA_SHA_256', certificate, signature)).toBe(true);
    await expect(
      harness.client().send(new VerifyCommand({ KeyId: key.keyId, Message: certificate, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).resolves.toMatchObject({ SignatureValid: true });
  });

  it.each([
    ['ECC_NIST_P384', 'ECDSA_SHA_384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_512'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['RSA_3072', 'RSASSA_PKCS1_V1_5_SHA_384'],
  ] as const)('makes RAW and DIGEST signatures that verify either way with a %s key and %s', async (keySpec, algorithm) => {
    const key = await signingKey(keySpec);
    const digest = createHash(`sha${algorithm.slice(-3)}`).update(certificate).digest();
    const publicKey = await publicKeyOf(harness.client(), key.keyId);
    const verifyInKms = (message: Buffer, signature: Buffer, messageType: 'RAW' | 'DIGEST') =>
      harness.client().send(new VerifyCommand({ KeyId: key.keyId, Message: message, MessageType: messageType, Signature: signature, SigningAlgorithm: algorithm }));

    const ofDigest = await signatureOf(key.keyId, digest, { algorithm, digest: true });
    const ofMessage = await signatureOf(key.keyId, certificate, { algorithm });

    expect(verifiesOffline(publicKey, algorithm, certificate, ofDigest)).toBe(true);
    expect(verifiesOffline(publicKey, algorithm, certificate, ofMessage)).toBe(true);
    await expect(verifyInKms(digest, ofMessage, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });
    await expect(verifyInKms(certificate, ofDigest, 'RAW')).resolves.toMatchObject({ SignatureValid: true });
    ofDigest[ofDigest.length - 2] = (ofDigest[ofDigest.length - 2] ?? 0) ^ 0x10;
    await expect(verifyInKms(digest, ofDigest, 'DIGEST')).rejects.toMatchObject({ name: 'KMSInvalidSignatureException' });
  });

  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', p256],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', p521],
  ] as const)('verifies a high-S signature of a DIGEST with a %s key, as KMS and OpenSSL accept it', async (keySpec, algorithm, curve) => {
    const key = await signingKey(keySpec);
    const digest = createHash(`sha${algorithm.slice(-3)}`).update(certificate).digest();
    const signed = curve.Signature.fromBytes(await signatureOf(key.keyId, certificate, { algorithm }), 'der');
    const highS = signed.hasHighS() ? signed : new curve.Signature(signed.r, curve.Point.Fn.neg(signed.s));

    const verified = harness.client().send(
      new VerifyCommand({ KeyId: key.keyId, Message: digest, MessageType: 'DIGEST', Signature: highS.toBytes('der'), SigningAlgorithm: algorithm }),
    );

    await expect(verified).resolves.toMatchObject({ SignatureValid: true });
  });

  it('refuses a DIGEST that is not as long as the algorithm hash', async () => {
    const key = await signingKey();
    const sha384 = createHash('sha384').update(certificate).digest();
    await expect(signatureOf(key.keyId, sha384, { digest: true })).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Digest is invalid length for algorithm ECDSA_SHA_256.',
    });
  });

  it('signs a RAW message of 4,096 bytes and refuses one of 4,097', async () => {
    const key = await signingKey();
    await expect(signatureOf(key.keyId, Buffer.alloc(4096, 'a'))).resolves.toBeInstanceOf(Buffer);
    await expect(signatureOf(key.keyId, Buffer.alloc(4097, 'a'))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
    });
  });

  it('refuses a signing algorithm the key spec does not support with InvalidKeyUsageException', async () => {
    const key = await signingKey();
    await expect(signatureOf(key.keyId, certificate, { algorithm: 'ECDSA_SHA_384' })).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
      message: 'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.',
    });
  });

  it('requires a signing algorithm', async () => {
    const key = await signingKey();
    await expect(harness.client().send(new SignCommand({ KeyId: key.keyId, Message: certificate, SigningAlgorithm: undefined }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null",
    });
  });
});

describe('key usage', () => {
  it.each(['Sign', 'Verify'])('refuses %s with a symmetric key', async (operation) => {
    const key = await createKey(harness.client());
    const input = { KeyId: key.keyId, Message: certificate, SigningAlgorithm: 'ECDSA_SHA_256' as const };
    const call =
      operation === 'Sign'
        ? harness.client().send(new SignCommand(input))
        : harness.client().send(new VerifyCommand({ ...input, Signature: Buffer.alloc(70, 1) }));
    await expect(call).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
      message: `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for ${operation}.`,
    });
  });

  it('has no public key to give for a symmetric key', async () => {
    const key = await createKey(harness.client());
    await expect(harness.client().send(new GetPublicKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
      message: `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for GetPublicKey.`,
    });
  });

  it('refuses Encrypt with a signing key', async () => {
    const key = await signingKey();
    await expect(harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('subject record') }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
      message: `${key.arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    });
  });

  it('refuses GenerateDataKey with a signing key', async () => {
    const key = await signingKey();
    await expect(harness.client().send(new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
      message: `${key.arn} key usage is SIGN_VERIFY which is not valid for GenerateDataKey.`,
    });
  });
});

describe('key states', () => {
  it('refuses Sign, Verify and GetPublicKey on a disabled key with DisabledException, and signs again once enabled', async () => {
    const key = await signingKey();
    const signature = await signatureOf(key.keyId, certificate);
    await harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }));
    const refusal = { name: 'DisabledException', message: `${key.arn} is disabled.` };

    await expect(signatureOf(key.keyId, certificate)).rejects.toMatchObject(refusal);
    await expect(
      harness.client().send(new VerifyCommand({ KeyId: key.keyId, Message: certificate, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toMatchObject(refusal);
    await expect(harness.client().send(new GetPublicKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject(refusal);
    await harness.client().send(new EnableKeyCommand({ KeyId: key.keyId }));
    await expect(signatureOf(key.keyId, certificate)).resolves.toBeInstanceOf(Buffer);
  });

  it('refuses Sign on a key pending deletion and records the failed call as CloudTrail does', async () => {
    const key = await signingKey();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));

    await expect(signatureOf(key.keyId, certificate)).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${key.arn} is pending deletion.`,
    });
    const recorded = harness.events.filter((event) => event.detailType === 'AWS API Call via CloudTrail' && event.resources.includes(key.arn));
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.detail).toMatchObject({
      eventSource: 'kms.amazonaws.com',
      eventName: 'Sign',
      errorCode: 'KMSInvalidStateException',
      errorMessage: `${key.arn} is pending deletion.`,
      readOnly: true,
      requestParameters: { keyId: key.keyId, messageType: 'RAW', signingAlgorithm: 'ECDSA_SHA_256' },
      resources: [{ accountId: ACCOUNT_ID, type: 'AWS::KMS::Key', ARN: key.arn }],
    });
  });

  it('deletes a signing key at the end of its waiting period: nothing verifies with it afterwards', async () => {
    const key = await signingKey();
    const signature = await signatureOf(key.keyId, certificate);
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    harness.clock.advance(7 * DAY_MS + 1000);

    await expect(
      harness.client().send(new VerifyCommand({ KeyId: key.keyId, Message: certificate, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toMatchObject({ name: 'NotFoundException', message: `Key 'arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:key/${key.keyId}' does not exist` });
  });
});

describe('request quotas', () => {
  const scope = { accountId: ACCOUNT_ID, region: HOME_REGION };

  function callsAllowedInOneInstant(quotas: RequestQuotas, calls: () => void, attempts: number): number {
    for (let call = 0; call < attempts; call++) {
      try {
        calls();
      } catch {
        return call;
      }
    }
    return attempts;
  }

  it('lets ECC Sign and Verify through 1,000 times per second between them, RSA 500, GetPublicKey 2,000', () => {
    const quotas = new RequestQuotas(new VirtualClock({ timeScale: 1e-9 }), true);
    let call = 0;
    const signOrVerifyEcc = () => quotas.take(scope, call++ % 2 ? 'Verify' : 'Sign', 'ECC_NIST_P256');

    expect(callsAllowedInOneInstant(quotas, signOrVerifyEcc, 1100)).toBe(1000);
    expect(callsAllowedInOneInstant(quotas, () => quotas.take(scope, 'Sign', 'RSA_2048'), 600)).toBe(500);
    expect(callsAllowedInOneInstant(quotas, () => quotas.take(scope, 'GetPublicKey'), 2100)).toBe(2000);
    expect(KMS_REQUEST_QUOTAS[ECC_CRYPTOGRAPHIC_OPERATIONS]).toBe(1000);
    expect(KMS_REQUEST_QUOTAS[RSA_CRYPTOGRAPHIC_OPERATIONS]).toBe(500);
  });

  it('throttles Sign over the wire once the ECC quota is spent', async () => {
    const throttled = await startKms({ quotas: { [ECC_CRYPTOGRAPHIC_OPERATIONS]: 2 } });
    try {
      const kms = throttled.client(HOME_REGION, { maxAttempts: 1 });
      const key = await createKey(kms, { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      const signRequest = new SignCommand({ KeyId: key.keyId, Message: certificate, SigningAlgorithm: 'ECDSA_SHA_256' });
      const { Signature } = await kms.send(signRequest);
      await kms.send(new VerifyCommand({ KeyId: key.keyId, Message: certificate, Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));

      await expect(kms.send(signRequest)).rejects.toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
    } finally {
      await throttled.close();
    }
  });
});
