/**
 * AWS::KMS::Key and AWS::KMS::Alias resources. Each key's ID is planned before the embedded KMS runs
 * (see plannedKeyId), so that the functions' environment can name it.
 */
import { createHash } from 'node:crypto';
import type { DeploymentScope, PlanContext } from './intrinsics.ts';
import type { LocalDeployment, LocalKmsKeyDeployment } from './local-deployment.ts';

/** Each declared key's planned ID and ARN, which intrinsics resolve to. */
export function plannedKeyIds(scope: DeploymentScope): { logicalId: string; keyId: string; arn: string }[] {
  const { config, resources, stage, region, accountId } = scope;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::KMS::Key')
    .map(([logicalId, resource]) => {
      const keyId = plannedKeyId({ accountId, region, service: config.service, stage, logicalId }, resource.Properties?.MultiRegion === true);
      return { logicalId, keyId, arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}` };
    });
}

export function planKmsKeys(plan: PlanContext, kmsKeyIds: readonly { logicalId: string; keyId: string; arn: string }[]): LocalKmsKeyDeployment[] {
  const { resources, resolve } = plan;
  return kmsKeyIds.map(({ logicalId, keyId, arn }) => {
    const declared = resources[logicalId]?.Properties ?? {};
    const property = (name: string, fallback: string) =>
      declared[name] === undefined ? fallback : resolve(declared[name], `resources.${logicalId}.${name}`);
    const tags = Array.isArray(declared.Tags) ? (declared.Tags as { Key?: unknown; Value?: unknown }[]) : [];
    return {
      logicalId,
      keyId,
      arn,
      keySpec: property('KeySpec', 'SYMMETRIC_DEFAULT'),
      keyUsage: property('KeyUsage', 'ENCRYPT_DECRYPT'),
      description: property('Description', ''),
      tags: tags.map((tag, index) => ({
        TagKey: resolve(tag.Key, `resources.${logicalId}.Tags.${index}.Key`),
        TagValue: resolve(tag.Value, `resources.${logicalId}.Tags.${index}.Value`),
      })),
      multiRegion: declared.MultiRegion === true,
      enabled: declared.Enabled !== false,
    };
  });
}

export function planKmsAliases(plan: PlanContext): LocalDeployment['kmsAliases'] {
  const { resources, resolve } = plan;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::KMS::Alias')
    .map(([logicalId, resource]) => ({
      logicalId,
      aliasName: resolve(resource.Properties?.AliasName, `resources.${logicalId}.AliasName`),
      // TargetKeyId may name the key by ID or ARN; KMS keeps the key ID.
      targetKeyId: resolve(resource.Properties?.TargetKeyId, `resources.${logicalId}.TargetKeyId`).replace(/^arn:.*:key\//, ''),
    }));
}

/**
 * CloudFormation learns a key's ID only when it creates the key, but the functions' environment
 * needs it before the embedded KMS runs. So a declared key gets an ID derived from where it is
 * deployed: the same account, Region, service, stage and logical id always name the same key, which
 * lets a restarted embedded AWS find the key it kept. A UUID of version 8 (RFC 9562's layout for
 * name-based UUIDs over SHA-256); a multi-Region key's "mrk-" and 32 hex digits.
 */
export function plannedKeyId(
  where: { accountId: string; region: string; service: string; stage: string; logicalId: string },
  multiRegion: boolean,
): string {
  const digest = createHash('sha256')
    .update([where.accountId, where.region, where.service, where.stage, where.logicalId].join('\n'))
    .digest()
    .subarray(0, 16);
  if (multiRegion) return `mrk-${digest.toString('hex')}`;
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x80;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
