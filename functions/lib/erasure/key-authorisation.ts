import type { KmsKey, KmsKeys } from '../aws/kms-keys.ts';
import {
  KeyInForeignAccount,
  KeyNotCustomerManaged,
  KeyNotFound,
  KeyNotOwnedBySubject,
  KeyStateNotErasable,
  SubjectHasNoKey,
} from './errors.ts';
import type { KeyPolicy } from './settings.ts';
import { subjectAlias } from './subject.ts';

/** A key the erasure has found and authorised, named by ARN from here on: aliases can move, ARNs cannot. */
export interface ErasureKey {
  keyId: string;
  keyArn: string;
  keyState: string;
  origin: string;
  multiRegion: boolean;
  /** A multi-Region key's place in its family; absent for a single-Region key. */
  multiRegionKeyType?: 'PRIMARY' | 'REPLICA';
  /** For a key found already pending deletion: when KMS will delete it, and the window it was given. */
  deletionDate?: string;
  pendingWindowDays?: number;
}

export interface KeySearch {
  subjectId: string;
  subjectFingerprint: string;
  keyIds: string[];
}

// States from which KMS lets a key be disabled and scheduled for deletion, or in which it already
// is (docs/aws-facts.md key-state table). Creating and Updating are transitional and refused.
const ERASABLE_STATES = new Set(['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport', 'Unavailable']);

/**
 * Finds the subject's keys (the alias `<aliasPrefix>/<subjectId>`, plus any key the closure event
 * names) and authorises every one of them before any is touched. A key is erased only if it is
 * customer managed, lives in an allowed account and carries `<subjectTagKey> = <subjectId>`:
 * aliases are mutable, so an alias that points at another subject's key must never lead to erasing
 * it. One refused key refuses the whole erasure.
 */
export async function resolveErasureKeys(
  kms: Pick<KmsKeys, 'describeKey' | 'tagValue'>,
  search: KeySearch,
  policy: KeyPolicy,
  ownAccountId: string,
): Promise<ErasureKey[]> {
  const found = new Map<string, KmsKey>();

  const aliased = await kms.describeKey(subjectAlias(policy.aliasPrefix, search.subjectId));
  if (aliased) found.set(aliased.keyArn, aliased);

  for (const keyId of search.keyIds) {
    const named = await kms.describeKey(keyId);
    if (!named) throw new KeyNotFound(`key ${keyId}, named in the closure event, does not exist (or was already deleted)`);
    found.set(named.keyArn, named);
  }

  await addMultiRegionFamilies(kms, found);

  if (found.size === 0) {
    throw new SubjectHasNoKey(
      `subject ${search.subjectFingerprint} has no key under ${policy.aliasPrefix}/… and the closure event names none`,
    );
  }

  const allowedAccounts = policy.allowedAccountIds.length > 0 ? policy.allowedAccountIds : [ownAccountId];
  const keys = [...found.values()];
  for (const key of keys) {
    await authorise(kms, key, search, policy, allowedAccounts);
  }
  // Replicas first, then their primaries: KMS starts a primary's waiting period only once its
  // last replica is deleted, so the primary is scheduled last and is the last key to go.
  const replicasFirst = [...keys.filter((key) => key.family?.role === 'REPLICA'), ...keys.filter((key) => key.family?.role !== 'REPLICA')];
  return replicasFirst.map(({ keyId, keyArn, keyState, origin, multiRegion, family, deletionDate, pendingWindowDays }) => ({
    keyId,
    keyArn,
    keyState,
    origin,
    multiRegion,
    ...(family ? { multiRegionKeyType: family.role } : {}),
    ...(deletionDate ? { deletionDate: deletionDate.toISOString() } : {}),
    ...(pendingWindowDays ? { pendingWindowDays } : {}),
  }));
}

/**
 * A multi-Region key and its replicas share their key material: data encrypted under any one of
 * them decrypts under every other, in its own Region. Erasing one member erases nothing, so a
 * found member (by alias or named in the closure, primary or replica alike) brings in its whole
 * family, each member asked in its own Region. Each is then authorised like any other key: tags
 * are not shared between related multi-Region keys, so every replica must carry the subject's tag.
 */
async function addMultiRegionFamilies(kms: Pick<KmsKeys, 'describeKey'>, found: Map<string, KmsKey>): Promise<void> {
  for (const key of [...found.values()]) {
    let family = key.family;
    if (family?.role === 'REPLICA' && !found.has(family.primaryArn)) {
      // A replica's configuration names the primary; the primary's is the authoritative list of replicas.
      const primary = await kms.describeKey(family.primaryArn);
      if (primary) {
        found.set(primary.keyArn, primary);
        family = primary.family ?? family;
      }
    }
    if (!family) continue;
    for (const memberArn of [family.primaryArn, ...family.replicaArns]) {
      if (found.has(memberArn)) continue;
      const member = await kms.describeKey(memberArn);
      // A member KMS no longer knows is deleted already: nothing of it is left to erase.
      if (member) found.set(member.keyArn, member);
    }
  }
}

async function authorise(
  kms: Pick<KmsKeys, 'tagValue'>,
  key: KmsKey,
  search: KeySearch,
  policy: KeyPolicy,
  allowedAccounts: string[],
): Promise<void> {
  // AWS managed and AWS owned keys cannot be deleted, and are shared by everyone's data.
  if (key.keyManager !== 'CUSTOMER') {
    throw new KeyNotCustomerManaged(`key ${key.keyArn} is managed by ${key.keyManager || 'AWS'}; only customer managed keys are erased`);
  }
  if (!allowedAccounts.includes(key.accountId)) {
    throw new KeyInForeignAccount(`key ${key.keyArn} is in account ${key.accountId}, which is not allowed`);
  }
  const owner = await kms.tagValue(key.keyArn, policy.subjectTagKey);
  if (owner !== search.subjectId) {
    // The tag's value is another subject's id, or absent: name neither.
    throw new KeyNotOwnedBySubject(
      `key ${key.keyArn} does not carry ${policy.subjectTagKey} for subject ${search.subjectFingerprint}`,
    );
  }
  if (!ERASABLE_STATES.has(key.keyState)) {
    throw new KeyStateNotErasable(`key ${key.keyArn} is ${key.keyState}; it cannot be scheduled for deletion now`);
  }
}
