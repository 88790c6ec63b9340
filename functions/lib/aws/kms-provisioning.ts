import { CreateAliasCommand, CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { toKmsKey, type KmsKey } from './kms-keys.ts';

export interface KeyCreation {
  description: string;
  policy: string;
  tags: Record<string, string>;
  multiRegion: boolean;
}

/** The KMS calls that create a subject's key, each in domain terms. */
export interface KmsProvisioning {
  /** A symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) whose material KMS generates. */
  createKey(creation: KeyCreation): Promise<KmsKey>;
  createAlias(aliasName: string, keyId: string): Promise<void>;
}

export function kmsProvisioning(kms: KMSClient): KmsProvisioning {
  return {
    async createKey({ description, policy, tags, multiRegion }) {
      const { KeyMetadata: metadata } = await kms.send(
        new CreateKeyCommand({
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          Origin: 'AWS_KMS',
          MultiRegion: multiRegion,
          Description: description,
          Policy: policy,
          Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
        }),
      );
      if (!metadata) throw new Error('CreateKey answered without KeyMetadata');
      return toKmsKey(metadata);
    },

    async createAlias(aliasName, keyId) {
      await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
    },
  };
}
