import { CreateAliasCommand, CreateKeyCommand, KMSClient, ReplicateKeyCommand, type KMSClientConfig } from '@aws-sdk/client-kms';
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
  /**
   * Replicates a multi-Region primary into another Region with its own policy and tags (KMS shares
   * neither between related keys). The replica is Creating for a moment, as on AWS.
   */
  replicateKey(primaryArn: string, region: string, creation: Pick<KeyCreation, 'description' | 'policy' | 'tags'>): Promise<KmsKey>;
}

export function kmsProvisioning(source: KMSClient | KMSClientConfig): KmsProvisioning {
  const kms = source instanceof KMSClient ? source : new KMSClient(source);
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

    async replicateKey(primaryArn, region, { description, policy, tags }) {
      // ReplicateKey is called in the primary's Region, naming the Region of the replica.
      const { ReplicaKeyMetadata: metadata } = await kms.send(
        new ReplicateKeyCommand({
          KeyId: primaryArn,
          ReplicaRegion: region,
          Description: description,
          Policy: policy,
          Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
        }),
      );
      if (!metadata) throw new Error('ReplicateKey answered without ReplicaKeyMetadata');
      return toKmsKey(metadata);
    },
  };
}
