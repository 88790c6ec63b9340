import { kmsKeys } from '../../functions/lib/aws/kms-keys.ts';
import { kmsProvisioning } from '../../functions/lib/aws/kms-provisioning.ts';
import { InvalidProvisioningRequest, provisionSubjectKey, type ProvisionedKey } from '../../functions/lib/erasure/key-provisioning.ts';
import { SUBJECT_ID_PATTERN } from '../../functions/lib/erasure/subject.ts';
import { CliError } from '../exit-codes.ts';
import type { Target } from '../target.ts';

export interface Provisioning extends ProvisionedKey {
  target: string;
  /** Why the key policy names no pipeline role, when it does not. */
  warning: string | null;
}

/**
 * `erasure provision`: creates a subject's key as the pipeline needs it, on the target's KMS. The
 * eraser role comes from the deployment on the embedded AWS; on a stage, from --eraser-role.
 */
export async function provision(
  target: Target,
  subjectId: string,
  options: { multiRegion?: boolean; replicaRegion?: string[]; eraserRole?: string },
): Promise<Provisioning> {
  checkSubjectId(subjectId);
  const eraserRoleArn = options.eraserRole ?? target.resources.eraserRoleArn;
  const kms = { ...kmsKeys(target.clientConfig), ...kmsProvisioning(target.clientConfig) };
  let key: ProvisionedKey;
  try {
    key = await provisionSubjectKey(
      kms,
      {
        subjectId,
        accountId: target.accountId,
        multiRegion: options.multiRegion ?? false,
        replicaRegions: options.replicaRegion ?? [],
        ...(eraserRoleArn ? { eraserRoleArn } : {}),
      },
      target.settings.keyPolicy,
    );
  } catch (error) {
    if (error instanceof InvalidProvisioningRequest) throw new CliError('badInput', error.message);
    throw error;
  }
  const warning =
    key.outcome === 'created' && !eraserRoleArn
      ? `the pipeline's eraser role of ${target.description} is not known (pass --eraser-role <arn>): the key policy has no statement naming it, so only the role's IAM policy lets the pipeline erase this key`
      : null;
  return { ...key, target: target.description, warning };
}

/** Refused before any AWS is reached: a bad id is bad input whether or not the target answers. */
export function checkSubjectId(subjectId: string): void {
  if (!SUBJECT_ID_PATTERN.test(subjectId)) throw new CliError('badInput', 'a subject id is 1 to 200 characters of A-Z, a-z, 0-9, _ and -');
}

export function provisionLines(provisioned: Provisioning): string[] {
  return [
    provisioned.outcome === 'created' ? `created key ${provisioned.keyArn} on ${provisioned.target}` : `already provisioned: key ${provisioned.keyArn} on ${provisioned.target}`,
    `  key id ${provisioned.keyId}${provisioned.multiRegion ? ' (multi-Region primary)' : ''}, ${provisioned.keyState}`,
    ...provisioned.replicas.map((replica) => `  replica ${replica.keyArn} (${replica.region}), tagged and with the same key policy`),
    `  alias ${provisioned.aliasName}`,
    `  tag ${provisioned.tag.key} = ${provisioned.tag.value}`,
    ...(provisioned.eraserRoleArn ? [`  key policy lets ${provisioned.eraserRoleArn} disable and schedule its deletion`] : []),
  ];
}
