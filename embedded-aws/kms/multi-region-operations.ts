import { AwsServiceError, type JsonObject, type RequestContext } from '../protocol.ts';
import { administeredKey, defaultKeyPolicy, newKey } from './key-operations.ts';
import { assertKeyState } from './key-states.ts';
import { keyArn, keyNotFound, type KmsKey } from './key-store.ts';
import type { KmsOperation } from './kms-backend.ts';
import { keyMetadata, optionalString, optionalTags, requiredString, tagList, validationError } from './wire-format.ts';

/**
 * Multi-Region keys (KMS Developer Guide, "Multi-Region keys in AWS KMS"): related keys in several
 * Regions of one account share their key ID (`mrk-...`), key spec, usage, origin and key material,
 * so a ciphertext made by one decrypts with any other, each in its own Region. Everything else
 * (key state, description, tags, aliases, policy) is each key's own. Their MultiRegionConfiguration
 * is not stored anywhere: DescribeKey derives it from the store, so every member shows the same family.
 */

function requiredRegion(input: JsonObject, member: string): string {
  const region = requiredString(input, member);
  if (!/^[a-z]+(-[a-z]+)+-\d+$/.test(region)) {
    throw validationError(member, region, 'Member must name an AWS Region, such as us-east-1');
  }
  return region;
}

/**
 * The multi-Region primary key a request names. Only a primary is replicated or moved (Developer
 * Guide, "Multi-Region key concepts"). For a replica KMS answers UnsupportedOperationException
 * (LocalStack's parity test against AWS, localstack/localstack#13102) saying "<arn> is not a
 * multi-Region primary key.": the text ThalesGroup/terraform-provider-ciphertrust matches in AWS's
 * answers (notMultiRegionPrimaryException). The message for a single-Region key is ours.
 */
function primaryKeyOf(key: KmsKey): KmsKey {
  if (key.multiRegionKeyType === undefined) {
    throw new AwsServiceError('UnsupportedOperationException', `${key.arn} is not a multi-Region key.`);
  }
  if (key.multiRegionKeyType !== 'PRIMARY') {
    throw new AwsServiceError('UnsupportedOperationException', `${key.arn} is not a multi-Region primary key.`);
  }
  return key;
}

/**
 * "You can't create a replica key in the same Region as its primary key" (Developer Guide, "Replica
 * Regions"). No AWS document gives the error; we answer ValidationException, as for any other
 * unusable ReplicaRegion or PrimaryRegion.
 */
function assertOtherRegion(member: string, region: string, context: RequestContext): void {
  if (region === context.region) {
    throw new AwsServiceError('ValidationException', `${member} must differ from the Region of the primary key, ${context.region}.`);
  }
}

/**
 * Creates a replica of a multi-Region primary key in ReplicaRegion (API reference, ReplicateKey). The
 * replica is Creating when the call returns and becomes Enabled, or PendingImport for imported key
 * material, "after a few seconds": key state is not a shared property, so the replica of a Disabled
 * primary is Enabled too. Its description, tags and policy are the request's, or KMS's defaults
 * (empty, none, the default key policy), never the primary's.
 */
const replicateKey: KmsOperation = (kms, input, context) => {
  const primary = primaryKeyOf(administeredKey(kms, input, context, 'ReplicateKey'));
  const replicaRegion = requiredRegion(input, 'ReplicaRegion');
  const description = optionalString(input, 'Description') ?? '';
  const tags = optionalTags(input);
  assertOtherRegion('ReplicaRegion', replicaRegion, context);
  const replicaScope = { accountId: context.accountId, region: replicaRegion };
  // One replica per Region, even one pending deletion (API reference: AlreadyExistsException). The
  // message is the one AWS gives through CloudFormation's AWS::KMS::ReplicaKey (aws/aws-cdk#21203).
  if (kms.store.findKey(replicaScope, primary.keyId)) {
    throw new AwsServiceError('AlreadyExistsException', 'You can create only one replica of each primary key in each AWS Region.');
  }
  assertKeyState(primary, 'replicate');
  const replica = newKey(replicaScope, {
    keyId: primary.keyId,
    keyManager: 'CUSTOMER',
    origin: primary.origin,
    multiRegionKeyType: 'REPLICA',
    description,
    creationDate: kms.clock.now(),
    keySpec: primary.keySpec,
    keyUsage: primary.keyUsage,
  });
  // KMS moves key material it generated into the replica's Region; imported material it never
  // copies: the replica waits for the same material to be imported into it (Developer Guide,
  // "Importing key material into multi-Region keys").
  if (primary.origin === 'AWS_KMS') {
    replica.material = primary.material && Buffer.from(primary.material);
    replica.privateKey = primary.privateKey;
  }
  for (const tag of tags) replica.tags.set(tag.TagKey, tag.TagValue);
  kms.store.addKey(replica);
  kms.transitions.begin(replica, 'Creating', primary.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled');
  return {
    ReplicaKeyMetadata: keyMetadata(replica, kms.store),
    ReplicaPolicy: optionalString(input, 'Policy') ?? defaultKeyPolicy(context.accountId),
    ReplicaTags: tagList(replica.tags),
  };
};

/**
 * Makes the replica in PrimaryRegion the primary and the primary a replica (API reference,
 * UpdatePrimaryRegion). Both must be Enabled; both are Updating for a few seconds afterwards, usable
 * in cryptographic operations but not enabled, disabled, scheduled or replicated, then Enabled again.
 * During those seconds KMS may still show the old roles; the embedded KMS shows the new ones at once.
 * No AWS document gives the error for a PrimaryRegion without a replica: NotFoundException, as for
 * any key that does not exist there.
 */
const updatePrimaryRegion: KmsOperation = (kms, input, context) => {
  const primary = primaryKeyOf(administeredKey(kms, input, context, 'UpdatePrimaryRegion'));
  const primaryRegion = requiredRegion(input, 'PrimaryRegion');
  assertOtherRegion('PrimaryRegion', primaryRegion, context);
  const replicaScope = { accountId: context.accountId, region: primaryRegion };
  const replica = kms.store.findKey(replicaScope, primary.keyId);
  if (!replica) throw keyNotFound(replicaScope, keyArn(replicaScope, primary.keyId));
  assertKeyState(primary, 'update-primary-region');
  assertKeyState(replica, 'update-primary-region');
  primary.multiRegionKeyType = 'REPLICA';
  replica.multiRegionKeyType = 'PRIMARY';
  kms.transitions.begin(primary, 'Updating', 'Enabled');
  kms.transitions.begin(replica, 'Updating', 'Enabled');
  return {};
};

export const MULTI_REGION_OPERATIONS: Record<string, KmsOperation> = {
  ReplicateKey: replicateKey,
  UpdatePrimaryRegion: updatePrimaryRegion,
};
