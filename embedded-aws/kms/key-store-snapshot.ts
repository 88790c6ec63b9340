import { createPrivateKey } from 'node:crypto';
import type { Tag } from './wire-format.ts';
import {
  aliasArn,
  keyArn,
  KeyStore,
  type KeyManager,
  type KeyOrigin,
  type KeySpec,
  type KeyState,
  type KeyTransition,
  type KeyUsage,
  type KmsKey,
  type MultiRegionKeyType,
} from './key-store.ts';

/**
 * The whole key store of an embedded KMS as one JSON document, so a restarted embedded AWS keeps
 * its keys: every key with its material (symmetric material in base64, an asymmetric private key
 * as PKCS#8 PEM), state and deletion date, a transient state's end (a replica Creating, keys
 * Updating), tags and aliases. A multi-Region key's family needs nothing more: its members share
 * their key ID across Regions, and their roles are each key's multiRegionKeyType. Import
 * parameters handed out by GetParametersForImport are not kept: a caller asks for new ones, as
 * after their 24 hours.
 *
 * It holds every secret of the embedded KMS in the clear: keep it where the keys may be.
 */
export interface KmsSnapshot {
  format: typeof FORMAT;
  version: 1;
  keys: KeySnapshot[];
  aliases: AliasSnapshot[];
}

interface KeySnapshot {
  keyId: string;
  accountId: string;
  region: string;
  creationDate: string;
  keyManager: KeyManager;
  origin: KeyOrigin;
  multiRegionKeyType: MultiRegionKeyType | null;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  description: string;
  state: KeyState;
  /** Absent in snapshots written before transient states were kept. */
  transition?: { from: KeyTransition['from']; settlesTo: KeyState; settlesAt: string } | null;
  deletionDate: string | null;
  pendingWindowInDays: number | null;
  material: string | null;
  privateKey: string | null;
  importedMaterialId: string | null;
  tags: Tag[];
}

interface AliasSnapshot {
  accountId: string;
  region: string;
  aliasName: string;
  targetKeyId: string;
  creationDate: string;
  lastUpdatedDate: string;
}

const FORMAT = 'embedded-aws-kms-key-store';

export function snapshotKeyStore(store: KeyStore): KmsSnapshot {
  return {
    format: FORMAT,
    version: 1,
    keys: store.allKeys().map((key) => ({
      keyId: key.keyId,
      accountId: key.accountId,
      region: key.region,
      creationDate: key.creationDate.toISOString(),
      keyManager: key.keyManager,
      origin: key.origin,
      multiRegionKeyType: key.multiRegionKeyType ?? null,
      keySpec: key.keySpec,
      keyUsage: key.keyUsage,
      description: key.description,
      state: key.state,
      transition: key.transition ? { ...key.transition, settlesAt: key.transition.settlesAt.toISOString() } : null,
      deletionDate: key.deletionDate?.toISOString() ?? null,
      pendingWindowInDays: key.pendingWindowInDays ?? null,
      material: key.material?.toString('base64') ?? null,
      privateKey: key.privateKey?.export({ type: 'pkcs8', format: 'pem' }).toString() ?? null,
      importedMaterialId: key.importedMaterialId ?? null,
      tags: [...key.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
    })),
    aliases: store.allAliases().map(({ scope, alias }) => ({
      accountId: scope.accountId,
      region: scope.region,
      aliasName: alias.aliasName,
      targetKeyId: alias.targetKeyId,
      creationDate: alias.creationDate.toISOString(),
      lastUpdatedDate: alias.lastUpdatedDate.toISOString(),
    })),
  };
}

/** A key store from a snapshot; anything that is not one this version wrote is refused whole. */
export function restoreKeyStore(snapshot: object): KeyStore {
  const candidate = snapshot as Partial<KmsSnapshot>;
  if (candidate.format !== FORMAT || candidate.version !== 1 || !Array.isArray(candidate.keys) || !Array.isArray(candidate.aliases)) {
    throw new Error(`not an embedded KMS snapshot (expected format ${FORMAT}, version 1)`);
  }
  const store = new KeyStore();
  for (const saved of candidate.keys) store.addKey(restoredKey(saved));
  for (const saved of candidate.aliases) {
    const scope = { accountId: saved.accountId, region: saved.region };
    store.putAlias(scope, {
      aliasName: saved.aliasName,
      arn: aliasArn(scope, saved.aliasName),
      targetKeyId: saved.targetKeyId,
      creationDate: new Date(saved.creationDate),
      lastUpdatedDate: new Date(saved.lastUpdatedDate),
    });
  }
  return store;
}

function restoredKey(saved: KeySnapshot): KmsKey {
  return {
    keyId: saved.keyId,
    arn: keyArn(saved, saved.keyId),
    accountId: saved.accountId,
    region: saved.region,
    creationDate: new Date(saved.creationDate),
    keyManager: saved.keyManager,
    origin: saved.origin,
    multiRegionKeyType: saved.multiRegionKeyType ?? undefined,
    keySpec: saved.keySpec,
    keyUsage: saved.keyUsage,
    description: saved.description,
    state: saved.state,
    transition: saved.transition ? { ...saved.transition, settlesAt: new Date(saved.transition.settlesAt) } : undefined,
    deletionDate: saved.deletionDate === null ? undefined : new Date(saved.deletionDate),
    pendingWindowInDays: saved.pendingWindowInDays ?? undefined,
    material: saved.material === null ? undefined : Buffer.from(saved.material, 'base64'),
    privateKey: saved.privateKey === null ? undefined : createPrivateKey(saved.privateKey),
    importedMaterialId: saved.importedMaterialId ?? undefined,
    importParameters: undefined,
    tags: new Map(saved.tags.map((tag) => [tag.TagKey, tag.TagValue])),
  };
}
