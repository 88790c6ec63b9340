import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { CertificateSigner } from '../erasure/certificate.ts';

/** Signs certificate digests with the dedicated signing key (serverless.yml's CertificateSigningKey). */
export function kmsCertificateSigner(kms: KMSClient, signingKeyArn: string): CertificateSigner {
  return {
    async sign(digest) {
      const response = await kms.send(
        new SignCommand({ KeyId: signingKeyArn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      if (!response.Signature) throw new Error(`KMS returned no signature for key ${signingKeyArn}`);
      return { keyArn: response.KeyId ?? signingKeyArn, signature: Buffer.from(response.Signature) };
    },
  };
}
