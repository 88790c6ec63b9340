import type { KmsKey, KmsKeys } from '../aws/kms-keys.ts';
import type { KmsProvisioning } from '../aws/kms-provisioning.ts';
import { ErasureError } from './errors.ts';
import type { KeyPolicy } from './settings.ts';
import { MIN_PENDING_WINDOW_DAYS } from './settings-rules.ts';
import { SUBJECT_ID_PATTERN, fingerprintSubject, subjectAlias } from './subject.ts';

/**
 * Creating a subject's key so that the pipeline can erase it later: the erasure finds a key by the
 * alias `<aliasPrefix>/<subjectId>` and erases it only if it is customer managed and tagged
 * `<subjectTagKey> = <subjectId>` (key-authorisation.ts), and the eraser role's IAM policy allows
 * the destructive calls only on subject-tagged keys (serverless.yml). A key made any other way is
 * a key the pipeline refuses to erase, found out on the day of the closure.
 */

export class InvalidProvisioningRequest extends ErasureError {
  override readonly name = 'InvalidProvisioningRequest';
  readonly refusal = true;
}

/** The subject's alias already names a key the pipeline would refuse, or one being erased. */
export class SubjectKeyConflict extends ErasureError {
  override readonly name = 'SubjectKeyConflict';
  readonly refusal = true;
}

/** The key was created but its alias was not: the key was scheduled for deletion (or says why not). */
export class KeyProvisioningFailed extends ErasureError {
  override readonly name = 'KeyProvisioningFailed';
  readonly refusal = false;
}

export interface SubjectKeyRequest {
  subjectId: string;
  /** The account the key is created in: its root administers the key through IAM. */
  accountId: string;
  /** A multi-Region primary key (ID `mrk-…`). */
  multiRegion?: boolean;
  /**
   * Regions to replicate the (multi-Region) key into, each replica with the subject tag and the
   * same key policy: the erasure erases the whole family and authorises every member by its tag.
   */
  replicaRegions?: string[];
  /** The pipeline's KeyEraserRole; without it, the key policy has no statement naming the pipeline. */
  eraserRoleArn?: string;
  /** The AWS partition of the account's ARNs; by default the eraser role's, else `aws`. */
  partition?: string;
}

export interface ProvisionedKey {
  outcome: 'created' | 'already-provisioned';
  keyId: string;
  keyArn: string;
  keyState: string;
  multiRegion: boolean;
  /** The key's replicas, each in its own Region (a multi-Region key's family, as KMS lists it). */
  replicas: { region: string; keyArn: string }[];
  aliasName: string;
  tag: { key: string; value: string };
  /** The role the key policy names (created keys only; an existing key's policy is not read). */
  eraserRoleArn: string | null;
}

// What the eraser does to a key (functions/lib/aws/kms-keys.ts), and DescribeKey to find it.
export const ERASER_KEY_ACTIONS = ['kms:DescribeKey', 'kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:DeleteImportedKeyMaterial'];

// Deliberately free of the subject id: the id is personal data, and the tag is the one place
// authorisation needs it (besides the alias, which is how the pipeline finds the key).
export const SUBJECT_KEY_DESCRIPTION = "crypto-erasure: one subject's erasure key; the subject is named by its tag";

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]+$/;

/**
 * Creates the subject's key (customer managed, symmetric, tagged for the subject, a key policy
 * that lets the pipeline erase it) and its alias; or answers with the key the alias already names
 * when that key is the subject's, so a retried provisioning never makes a second key.
 */
export async function provisionSubjectKey(
  kms: Pick<KmsKeys, 'describeKey' | 'tagValue' | 'scheduleKeyDeletion'> & KmsProvisioning,
  request: SubjectKeyRequest,
  policy: Pick<KeyPolicy, 'subjectTagKey' | 'aliasPrefix'>,
): Promise<ProvisionedKey> {
  const { subjectId, accountId } = request;
  if (!SUBJECT_ID_PATTERN.test(subjectId)) {
    throw new InvalidProvisioningRequest('a subject id is 1 to 200 characters of A-Z, a-z, 0-9, _ and -');
  }
  if (!/^\d{12}$/.test(accountId)) throw new InvalidProvisioningRequest(`account id ${accountId} is not 12 digits`);
  const replicaRegions = [...new Set(request.replicaRegions ?? [])];
  const badRegion = replicaRegions.find((region) => !REGION.test(region));
  if (badRegion !== undefined) throw new InvalidProvisioningRequest(`${badRegion} is not an AWS Region name`);
  const role = request.eraserRoleArn === undefined ? undefined : ROLE_ARN.exec(request.eraserRoleArn);
  if (request.eraserRoleArn !== undefined && (!role || role[2] !== accountId)) {
    throw new InvalidProvisioningRequest(`${request.eraserRoleArn} is not an IAM role ARN in account ${accountId}`);
  }

  const aliasName = subjectAlias(policy.aliasPrefix, subjectId);
  const fingerprint = fingerprintSubject(subjectId);
  const partition = request.partition ?? role?.[1] ?? 'aws';
  const creation = {
    description: SUBJECT_KEY_DESCRIPTION,
    policy: subjectKeyPolicy({ partition, accountId, eraserRoleArn: request.eraserRoleArn }),
    tags: { [policy.subjectTagKey]: subjectId },
  };
  const existing = await existingSubjectKey(kms, aliasName, subjectId, fingerprint, policy);
  if (existing) return withReplicas(kms, existing.key, existing.provisioned, replicaRegions, creation);

  const multiRegion = (request.multiRegion ?? false) || replicaRegions.length > 0;
  const key = await kms.createKey({ ...creation, multiRegion });

  try {
    await kms.createAlias(aliasName, key.keyId);
  } catch (aliasError) {
    const cleanup = await scheduleOrphan(kms, key);
    // Two provisionings of one subject at once: the other one's alias won, and its key is the subject's.
    if ((aliasError as Error).name === 'AlreadyExistsException') {
      const winner = await existingSubjectKey(kms, aliasName, subjectId, fingerprint, policy);
      if (winner) return withReplicas(kms, winner.key, winner.provisioned, replicaRegions, creation);
    }
    throw new KeyProvisioningFailed(
      `creating the alias of subject ${fingerprint}'s key failed (${(aliasError as Error).name}: ${(aliasError as Error).message}); ${cleanup}`,
      { cause: aliasError },
    );
  }

  const provisioned = provisionedKey('created', key, aliasName, { key: policy.subjectTagKey, value: subjectId }, request.eraserRoleArn ?? null);
  return withReplicas(kms, key, provisioned, replicaRegions, creation);
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Replicates the key into each asked Region it has no replica in yet, so a retried provisioning adds only what is missing. */
async function withReplicas(
  kms: Pick<KmsKeys, 'describeKey'> & KmsProvisioning,
  key: KmsKey,
  provisioned: ProvisionedKey,
  regions: string[],
  creation: { description: string; policy: string; tags: Record<string, string> },
): Promise<ProvisionedKey> {
  if (regions.length === 0) return provisioned;
  if (key.family?.role !== 'PRIMARY') {
    throw new InvalidProvisioningRequest(`subject key ${key.keyArn} is not a multi-Region primary key: it cannot be replicated (provision a new subject with --replica-region)`);
  }
  const homeRegion = key.keyArn.split(':')[3];
  const replicas = key.family.replicaArns.map((keyArn) => ({ region: keyArn.split(':')[3] ?? '', keyArn }));
  for (const region of regions) {
    if (region === homeRegion || replicas.some((replica) => replica.region === region)) continue;
    const replica = await kms.replicateKey(key.keyArn, region, creation);
    replicas.push({ region, keyArn: replica.keyArn });
  }
  return { ...provisioned, replicas };
}

/**
 * The key policy: AWS's default statement (the account's root, so IAM policies govern the key and
 * the key can never become unmanageable), plus one statement naming the pipeline's eraser role
 * with the calls an erasure makes, so the erasure does not hang on an IAM policy alone.
 */
export function subjectKeyPolicy({ partition, accountId, eraserRoleArn }: { partition: string; accountId: string; eraserRoleArn?: string | undefined }): string {
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ];
  if (eraserRoleArn !== undefined) {
    // In a key policy, Resource "*" means this key. KMS refuses (MalformedPolicyDocumentException)
    // a principal that does not exist, so the role must be the deployed one.
    statements.push({ Sid: 'AllowCryptoErasurePipelineToEraseThisKey', Effect: 'Allow', Principal: { AWS: eraserRoleArn }, Action: ERASER_KEY_ACTIONS, Resource: '*' });
  }
  return JSON.stringify({ Version: '2012-10-17', Id: 'crypto-erasure-subject-key', Statement: statements });
}

async function existingSubjectKey(
  kms: Pick<KmsKeys, 'describeKey' | 'tagValue'>,
  aliasName: string,
  subjectId: string,
  fingerprint: string,
  policy: Pick<KeyPolicy, 'subjectTagKey' | 'aliasPrefix'>,
): Promise<{ key: KmsKey; provisioned: ProvisionedKey } | undefined> {
  const key = await kms.describeKey(aliasName);
  if (!key) return undefined;
  const owner = key.keyManager === 'CUSTOMER' ? await kms.tagValue(key.keyArn, policy.subjectTagKey) : undefined;
  if (owner !== subjectId) {
    // The pipeline would refuse to erase this key (KeyNotOwnedBySubject); a second key cannot
    // take the alias either. The tag's value may be another subject's id: name neither.
    throw new SubjectKeyConflict(
      `subject ${fingerprint}'s alias already points at key ${key.keyArn}, which does not carry ${policy.subjectTagKey} for that subject; no key was created`,
    );
  }
  if (key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion') {
    throw new SubjectKeyConflict(
      `subject ${fingerprint}'s key ${key.keyArn} is ${key.keyState}: the subject is being erased; cancel the erasure, or provision again once KMS has deleted the key`,
    );
  }
  return { key, provisioned: provisionedKey('already-provisioned', key, aliasName, { key: policy.subjectTagKey, value: subjectId }, null) };
}

function provisionedKey(
  outcome: ProvisionedKey['outcome'],
  key: KmsKey,
  aliasName: string,
  tag: ProvisionedKey['tag'],
  eraserRoleArn: string | null,
): ProvisionedKey {
  const replicas = (key.family?.replicaArns ?? []).map((keyArn) => ({ region: keyArn.split(':')[3] ?? '', keyArn }));
  return { outcome, keyId: key.keyId, keyArn: key.keyArn, keyState: key.keyState, multiRegion: key.multiRegion, replicas, aliasName, tag, eraserRoleArn };
}

/** No key without its alias: nothing would ever find it to erase it. */
async function scheduleOrphan(kms: Pick<KmsKeys, 'scheduleKeyDeletion'>, key: KmsKey): Promise<string> {
  try {
    const scheduled = await kms.scheduleKeyDeletion(key.keyArn, MIN_PENDING_WINDOW_DAYS);
    return `the new key ${key.keyArn} was scheduled for deletion in ${MIN_PENDING_WINDOW_DAYS} days${scheduled.deletionDate ? ` (${scheduled.deletionDate.toISOString()})` : ''}`;
  } catch (cleanupError) {
    return `the new key ${key.keyArn} could not be scheduled for deletion (${(cleanupError as Error).name}: ${(cleanupError as Error).message}): schedule it by hand`;
  }
}
