import {
  CancelKeyDeletionCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kmsKeys, regionOfArn, toKmsKey } from '../../../functions/lib/aws/kms-keys.ts';

const ACCOUNT = '111122223333';
const HOME = 'eu-west-1';
const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = arnIn(HOME, KEY_ID);
const metadata = { $metadata: {} };

// Restored after the file: the mutation run shares modules, and KMSClient's prototype, between files.
let kms: AwsClientStub<KMSClient>;
beforeAll(() => {
  kms = mockClient(KMSClient);
});
afterAll(() => kms.restore());
afterEach(() => kms.reset());

const keys = () => kmsKeys(new KMSClient({ region: HOME }));

function notFound(reference: string): NotFoundException {
  return new NotFoundException({ message: `Key '${reference}' does not exist`, ...metadata });
}

function invalidState(message: string): KMSInvalidStateException {
  return new KMSInvalidStateException({ message, ...metadata });
}

/** Every item of an async listing, stopping at `max` so a listing that never ends fails instead of hanging. */
async function collect<T>(listing: AsyncIterable<T>, max = 10_000): Promise<T[]> {
  const items: T[] = [];
  for await (const item of listing) {
    items.push(item);
    if (items.length >= max) break;
  }
  return items;
}

describe('reading a key', () => {
  it('reads what the erasure needs of a key KMS describes', async () => {
    const deletionDate = new Date('2026-12-08T12:00:00Z');
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: KEY_ID,
        Arn: KEY_ARN,
        AWSAccountId: ACCOUNT,
        KeyManager: 'CUSTOMER',
        KeyState: 'PendingDeletion',
        Origin: 'EXTERNAL',
        MultiRegion: false,
        DeletionDate: deletionDate,
        PendingDeletionWindowInDays: 7,
      },
    });

    await expect(keys().describeKey(KEY_ARN)).resolves.toStrictEqual({
      keyId: KEY_ID,
      keyArn: KEY_ARN,
      accountId: ACCOUNT,
      keyManager: 'CUSTOMER',
      keyState: 'PendingDeletion',
      origin: 'EXTERNAL',
      multiRegion: false,
      family: undefined,
      deletionDate,
      pendingWindowDays: 7,
    });
  });

  it("reads the key's account from its ARN when KMS names no account", () => {
    expect(toKmsKey({ KeyId: KEY_ID, Arn: arnIn(HOME, KEY_ID) }).accountId).toBe(ACCOUNT);
  });

  it('reads a description that leaves fields out as empty, never as made-up values', () => {
    expect(toKmsKey({ KeyId: undefined })).toStrictEqual({
      keyId: '',
      keyArn: '',
      accountId: '',
      keyManager: '',
      keyState: '',
      origin: '',
      multiRegion: false,
      family: undefined,
      deletionDate: undefined,
    });
  });

  it("reads a multi-Region key's family from its primary and from a replica, by ARN", () => {
    const primaryArn = arnIn(HOME, 'mrk-1');
    const replicaArn = arnIn('us-east-1', 'mrk-1');
    const configuration = (type: 'PRIMARY' | 'REPLICA'): KeyMetadata['MultiRegionConfiguration'] => ({
      MultiRegionKeyType: type,
      PrimaryKey: { Arn: primaryArn, Region: HOME },
      // A replica KMS names without its ARN (a Region it is still being created in) is not a key to wait for.
      ReplicaKeys: [{ Arn: replicaArn, Region: 'us-east-1' }, { Region: 'ap-southeast-2' }],
    });

    const primary = toKmsKey({ KeyId: 'mrk-1', Arn: primaryArn, MultiRegion: true, MultiRegionConfiguration: configuration('PRIMARY') });
    const replica = toKmsKey({ KeyId: 'mrk-1', Arn: replicaArn, MultiRegion: true, MultiRegionConfiguration: configuration('REPLICA') });

    expect(primary).toMatchObject({ multiRegion: true, family: { role: 'PRIMARY', primaryArn, replicaArns: [replicaArn] } });
    expect(replica).toMatchObject({ multiRegion: true, family: { role: 'REPLICA', primaryArn, replicaArns: [replicaArn] } });
  });

  it('reads a multi-Region key whose configuration names no primary as its own primary', () => {
    const own = toKmsKey({ KeyId: 'mrk-1', Arn: KEY_ARN, MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY' } });
    const anonymous = toKmsKey({ KeyId: 'mrk-1', MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY' } });

    expect(own.family).toEqual({ role: 'PRIMARY', primaryArn: KEY_ARN, replicaArns: [] });
    expect(anonymous.family).toEqual({ role: 'PRIMARY', primaryArn: '', replicaArns: [] });
  });

  it('reads no family for a single-Region key', () => {
    expect(toKmsKey({ KeyId: KEY_ID, Arn: KEY_ARN, MultiRegion: false }).family).toBeUndefined();
  });

  it('answers undefined for a key KMS does not know', async () => {
    kms.on(DescribeKeyCommand).rejects(notFound(KEY_ARN));

    await expect(keys().describeKey(KEY_ARN)).resolves.toBeUndefined();
  });

  it('lets any other failure to describe a key reach the caller, never read as a deleted key', async () => {
    kms.on(DescribeKeyCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(keys().describeKey(KEY_ARN)).rejects.toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
  });
});

describe("reading a key's tag", () => {
  it('finds the named tag among others, on whichever page KMS lists it', async () => {
    kms
      .on(ListResourceTagsCommand)
      .callsFake(({ Marker }: { Marker?: string }) =>
        Marker === 'page-2'
          ? { Tags: [{ TagKey: 'erasure:subject', TagValue: 'user-4821' }], Truncated: false }
          : { Tags: [{ TagKey: 'team', TagValue: 'payments' }], Truncated: true, NextMarker: 'page-2' },
      );

    await expect(keys().tagValue(KEY_ARN, 'erasure:subject')).resolves.toBe('user-4821');
    await expect(keys().tagValue(KEY_ARN, 'team')).resolves.toBe('payments');
  });

  it('answers undefined when no page lists the tag', async () => {
    kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'team', TagValue: 'payments' }], Truncated: false });

    await expect(keys().tagValue(KEY_ARN, 'erasure:subject')).resolves.toBeUndefined();
  });
});

describe('scheduling and cancelling a deletion', () => {
  it('reads an answer to ScheduleKeyDeletion that names no state as pending deletion', async () => {
    const deletionDate = new Date('2026-12-08T12:00:00Z');
    kms.on(ScheduleKeyDeletionCommand).resolves({ KeyId: KEY_ARN, DeletionDate: deletionDate, PendingWindowInDays: 7 });

    await expect(keys().scheduleKeyDeletion(KEY_ARN, 7)).resolves.toEqual({ keyState: 'PendingDeletion', deletionDate, pendingWindowDays: 7, alreadyScheduled: false });
  });

  it('reads a key already pending deletion as scheduled, even when KMS then describes it without a state', async () => {
    kms.on(ScheduleKeyDeletionCommand).rejects(invalidState(`${KEY_ARN} is pending deletion.`));
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN } });

    await expect(keys().scheduleKeyDeletion(KEY_ARN, 7)).resolves.toEqual({
      keyState: 'PendingDeletion',
      deletionDate: undefined,
      pendingWindowDays: undefined,
      alreadyScheduled: true,
    });
  });

  it('cancels a pending deletion', async () => {
    kms.on(CancelKeyDeletionCommand).resolves({ KeyId: KEY_ARN });

    await expect(keys().cancelKeyDeletion(KEY_ARN)).resolves.toBe('cancelled');
  });

  it('reads a key that is not pending deletion as nothing to cancel', async () => {
    kms.on(CancelKeyDeletionCommand).rejects(invalidState(`${KEY_ARN} is not pending deletion.`));

    await expect(keys().cancelKeyDeletion(KEY_ARN)).resolves.toBe('not-pending');
  });

  it('lets any other failure to cancel reach the caller', async () => {
    kms.on(CancelKeyDeletionCommand).rejects(notFound(KEY_ARN));

    await expect(keys().cancelKeyDeletion(KEY_ARN)).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});

describe('changing a key', () => {
  /** A KMS holding one key, whose state EnableKey and DeleteImportedKeyMaterial change. */
  function oneKeyIn(state: KeyMetadata['KeyState']): void {
    let keyState = state;
    const known = (KeyId: string | undefined) => {
      if (KeyId !== KEY_ARN) throw notFound(KeyId ?? '');
    };
    kms.on(DescribeKeyCommand).callsFake(({ KeyId }: { KeyId?: string }) => {
      known(KeyId);
      return { KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyState: keyState } };
    });
    kms.on(EnableKeyCommand).callsFake(({ KeyId }: { KeyId?: string }) => {
      known(KeyId);
      keyState = 'Enabled';
      return {};
    });
    kms.on(DeleteImportedKeyMaterialCommand).callsFake(({ KeyId }: { KeyId?: string }) => {
      known(KeyId);
      keyState = 'PendingImport';
      return {};
    });
  }

  it('enables the key it names', async () => {
    oneKeyIn('Disabled');

    await keys().enableKey(KEY_ARN);

    expect((await keys().describeKey(KEY_ARN))?.keyState).toBe('Enabled');
  });

  it("deletes the imported material of the key it names, leaving it pending import", async () => {
    oneKeyIn('Enabled');

    await keys().deleteImportedKeyMaterial(KEY_ARN);

    expect((await keys().describeKey(KEY_ARN))?.keyState).toBe('PendingImport');
  });
});

describe('listing the keys and aliases of the account', () => {
  /** A listing as KMS pages it: `Limit` items a page (KMS's default 100), the next page by `Marker`. */
  function paged<T>(items: T[], page: (slice: T[], next: string | undefined) => object) {
    return ({ Marker, Limit }: { Marker?: string; Limit?: number }) => {
      const start = Marker === undefined ? 0 : Number(Marker);
      const end = start + (Limit ?? 100);
      return page(items.slice(start, end), end < items.length ? String(end) : undefined);
    };
  }

  it('lists every key, in the fewest requests KMS allows (1,000 keys a page)', async () => {
    const arns = Array.from({ length: 1_500 }, (_, index) => arnIn(HOME, `key-${index}`));
    kms.on(ListKeysCommand).callsFake(
      paged(arns, (slice, next) => ({ Keys: slice.map((KeyArn) => ({ KeyId: KeyArn.split('/')[1], KeyArn })), Truncated: next !== undefined, NextMarker: next })),
    );

    await expect(collect(keys().listKeyArns())).resolves.toEqual(arns);
    expect(kms.commandCalls(ListKeysCommand)).toHaveLength(2);
  });

  it('lists every alias with the key it points at, in the fewest requests KMS allows (100 aliases a page)', async () => {
    const aliases = Array.from({ length: 150 }, (_, index) => ({ aliasName: `alias/erasure/subject/user-${index}`, targetKeyId: index % 2 === 0 ? `key-${index}` : undefined }));
    kms.on(ListAliasesCommand).callsFake(
      paged(aliases, (slice, next) => ({
        Aliases: slice.map(({ aliasName, targetKeyId }) => ({ AliasName: aliasName, AliasArn: `arn:aws:kms:${HOME}:${ACCOUNT}:${aliasName}`, TargetKeyId: targetKeyId })),
        Truncated: next !== undefined,
        NextMarker: next,
      })),
    );

    await expect(collect(keys().listAliases())).resolves.toEqual(aliases);
    expect(kms.commandCalls(ListAliasesCommand)).toHaveLength(2);
  });
});

describe('the Region a call goes to', () => {
  const regions = [HOME, 'us-east-1', 'ap-southeast-2'];

  /**
   * KMS in several Regions: each client answers from its own Region's keys, and NotFoundException for
   * a key ARN of another Region, as KMS does. Records which client answered, by Region.
   */
  function regionalKms(): Map<string, Set<KMSClient>> {
    const answeredBy = new Map<string, Set<KMSClient>>();
    kms.on(DescribeKeyCommand).callsFake(async ({ KeyId }: { KeyId: string }, getClient) => {
      const client = getClient() as KMSClient;
      const region = await client.config.region();
      answeredBy.set(region, (answeredBy.get(region) ?? new Set()).add(client));
      const keyId = KeyId.startsWith('arn:') ? KeyId.split('/')[1] : KeyId.startsWith('alias/') ? KEY_ID : KeyId;
      const arn = arnIn(region, keyId ?? '');
      if (KeyId.startsWith('arn:') && KeyId !== arn) throw notFound(KeyId);
      return { KeyMetadata: { KeyId: keyId, Arn: arn, KeyState: 'Enabled' } };
    });
    return answeredBy;
  }

  it('asks about each key ARN in its own Region', async () => {
    regionalKms();
    const kmsInRegions = kmsKeys({ region: HOME });

    const described = await Promise.all(regions.map((region) => kmsInRegions.describeKey(arnIn(region, KEY_ID))));

    expect(described.map((key) => key?.keyArn)).toEqual(regions.map((region) => arnIn(region, KEY_ID)));
  });

  it('asks about an alias or a bare key id in its own Region, whatever the alias name holds', async () => {
    regionalKms();
    const kmsInRegions = kmsKeys({ region: HOME });

    await expect(kmsInRegions.describeKey('alias/erasure:us-east-1:kms:user-4821')).resolves.toMatchObject({ keyArn: KEY_ARN });
    await expect(kmsInRegions.describeKey(KEY_ID)).resolves.toMatchObject({ keyArn: KEY_ARN });
  });

  it('keeps one client per Region, reused from call to call', async () => {
    const answeredBy = regionalKms();
    const kmsInRegions = kmsKeys({ region: HOME });

    for (let round = 0; round < 2; round++) {
      for (const region of regions) await kmsInRegions.describeKey(arnIn(region, KEY_ID));
      await kmsInRegions.describeKey('alias/erasure/subject/user-4821');
    }

    expect(regions.map((region) => answeredBy.get(region)?.size)).toEqual([1, 1, 1]);
  });

  it("answers for its own Region's keys when given a single client", async () => {
    regionalKms();

    await expect(keys().describeKey(KEY_ARN)).resolves.toMatchObject({ keyArn: KEY_ARN });
  });

  it("refuses, rather than misreads as deleted, another Region's key when given a single client", async () => {
    regionalKms();

    await expect(keys().describeKey(arnIn('us-east-1', KEY_ID))).rejects.toThrow(`a KMS client of Region ${HOME} cannot answer for a key of Region us-east-1`);
  });

  it('reads the Region of a KMS ARN only', () => {
    expect(regionOfArn(arnIn('us-east-1', KEY_ID))).toBe('us-east-1');
    expect(regionOfArn(`arn:aws:kms:ap-southeast-2:${ACCOUNT}:alias/erasure/subject/user-4821`)).toBe('ap-southeast-2');
    expect(regionOfArn(`arn:aws:sns:us-east-1:${ACCOUNT}:erasure-alerts`)).toBeUndefined();
    expect(regionOfArn(`arn:aws:kms::${ACCOUNT}:key/${KEY_ID}`)).toBeUndefined();
    expect(regionOfArn('alias/erasure:us-east-1:kms:user-4821')).toBeUndefined();
    expect(regionOfArn(KEY_ID)).toBeUndefined();
  });
});
