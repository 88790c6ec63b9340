import { KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kmsKeys, type KmsKey } from '../../../functions/lib/aws/kms-keys.ts';
import { resolveErasureKeys, type KeySearch } from '../../../functions/lib/erasure/key-authorisation.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { KmsDouble, arnOf } from '../../support/kms-double.ts';
import { ACCOUNT_ID, keyPolicy } from '../../support/settings.ts';

function searchFor(subjectId: string, keyIds: string[] = []): KeySearch {
  return { subjectId, subjectFingerprint: fingerprintSubject(subjectId), keyIds };
}

describe('resolveErasureKeys', () => {
  let kms: KmsDouble;
  const keys = () => kmsKeys(new KMSClient({ region: 'eu-west-1' }));

  beforeEach(() => {
    kms = new KmsDouble();
  });
  afterEach(() => kms.restore());

  it("finds the subject's key by alias and names it by ARN", async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const found = await resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID);
    expect(found).toEqual([{ keyId: key.keyId, keyArn: arnOf(key), keyState: 'Enabled', origin: 'AWS_KMS', multiRegion: false }]);
  });

  it('adds the keys the closure event names, once each', async () => {
    const aliased = kms.addKey({ subjectId: 'user-1' });
    const named = kms.addKey({ tags: { 'erasure:subject': 'user-1' } });
    const found = await resolveErasureKeys(keys(), searchFor('user-1', [named.keyId, arnOf(aliased)]), keyPolicy, ACCOUNT_ID);
    expect(found.map((key) => key.keyArn).sort()).toEqual([arnOf(aliased), arnOf(named)].sort());
  });

  it("refuses an alias that points at another subject's key", async () => {
    kms.addKey({ alias: 'alias/erasure/subject/user-1', tags: { 'erasure:subject': 'user-2' } });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotOwnedBySubject',
    });
  });

  it('names neither subject id in a refusal', async () => {
    kms.addKey({ alias: 'alias/erasure/subject/user-1', tags: { 'erasure:subject': 'user-2' } });
    const refusal = await resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID).catch((error: Error) => error);
    expect((refusal as Error).message).not.toMatch(/user-1|user-2/);
    expect((refusal as Error).message).toContain(fingerprintSubject('user-1'));
  });

  it('refuses a key without the subject tag', async () => {
    kms.addKey({ alias: 'alias/erasure/subject/user-1', tags: {} });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotOwnedBySubject',
    });
  });

  it('refuses an AWS managed key even when tagged for the subject', async () => {
    kms.addKey({ subjectId: 'user-1', keyManager: 'AWS' });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotCustomerManaged',
    });
  });

  it('refuses a key in an account that is not allowed', async () => {
    kms.addKey({ subjectId: 'user-1', accountId: '444455556666' });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyInForeignAccount',
    });
  });

  it('accepts a key in an explicitly allowed account', async () => {
    kms.addKey({ subjectId: 'user-1', accountId: '444455556666' });
    const policy = { ...keyPolicy, allowedAccountIds: ['444455556666'] };
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), policy, ACCOUNT_ID)).resolves.toHaveLength(1);
  });

  it('refuses the whole erasure when one named key belongs to someone else', async () => {
    kms.addKey({ subjectId: 'user-1' });
    const foreign = kms.addKey({ tags: { 'erasure:subject': 'user-9' } });
    await expect(resolveErasureKeys(keys(), searchFor('user-1', [foreign.keyId]), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotOwnedBySubject',
    });
  });

  it('ends as SubjectHasNoKey when no alias exists and the event names no key', async () => {
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'SubjectHasNoKey',
    });
  });

  it('ends as KeyNotFound when a named key does not exist', async () => {
    kms.addKey({ subjectId: 'user-1' });
    const missing = '99999999-9999-4999-8999-999999999999';
    await expect(resolveErasureKeys(keys(), searchFor('user-1', [missing]), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotFound',
    });
  });

  it.each(['Enabled', 'Disabled', 'PendingDeletion', 'PendingReplicaDeletion', 'PendingImport', 'Unavailable'])('accepts a key in state %s', async (keyState) => {
    kms.addKey({ subjectId: 'user-1', keyState });
    const [key] = await resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID);
    expect(key?.keyState).toBe(keyState);
  });

  it.each(['Creating', 'Updating'])('refuses a key in transitional state %s', async (keyState) => {
    kms.addKey({ subjectId: 'user-1', keyState });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyStateNotErasable',
    });
  });

  it('names the missing key, and says it may be deleted already, when a named key does not exist', async () => {
    kms.addKey({ subjectId: 'user-1' });
    const missing = '99999999-9999-4999-8999-999999999999';
    await expect(resolveErasureKeys(keys(), searchFor('user-1', [missing]), keyPolicy, ACCOUNT_ID)).rejects.toThrow(
      `key ${missing}, named in the closure event, does not exist (or was already deleted)`,
    );
  });

  it('says which alias it looked under, by fingerprint, when the subject has no key', async () => {
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toThrow(
      `subject ${fingerprintSubject('user-1')} has no key under alias/erasure/subject/… and the closure event names none`,
    );
  });

  it('names the key and its manager when refusing a key that is not customer managed', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyManager: 'AWS' });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toThrow(
      `key ${arnOf(key)} is managed by AWS; only customer managed keys are erased`,
    );
  });

  it('calls a key whose manager KMS does not state managed by AWS, and refuses it', async () => {
    const unmanaged = { ...(await keys().describeKey(arnOf(kms.addKey({ subjectId: 'user-1' }))))!, keyManager: '' };
    const kmsAnswering = { describeKey: async () => unmanaged, tagValue: async () => 'user-1' };
    await expect(resolveErasureKeys(kmsAnswering, searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotCustomerManaged',
      message: `key ${unmanaged.keyArn} is managed by AWS; only customer managed keys are erased`,
    });
  });

  it('names the key and its account when refusing a key of an account that is not allowed', async () => {
    const key = kms.addKey({ subjectId: 'user-1', accountId: '444455556666' });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toThrow(`key ${arnOf(key)} is in account 444455556666, which is not allowed`);
  });

  it('names the key and its state when refusing a key in a transitional state', async () => {
    const key = kms.addKey({ subjectId: 'user-1', keyState: 'Creating' });
    await expect(resolveErasureKeys(keys(), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toThrow(`key ${arnOf(key)} is Creating; it cannot be scheduled for deletion now`);
  });

  it('keeps the deletion date and waiting period of a key found already pending deletion', async () => {
    const pending = { ...(await keys().describeKey(arnOf(kms.addKey({ subjectId: 'user-1' }))))!, keyState: 'PendingDeletion', deletionDate: new Date('2026-12-20T09:30:00Z'), pendingWindowDays: 30 };
    const kmsAnswering = { describeKey: async () => pending, tagValue: async () => 'user-1' };
    const [key] = await resolveErasureKeys(kmsAnswering, searchFor('user-1'), keyPolicy, ACCOUNT_ID);
    expect(key).toEqual({ keyId: pending.keyId, keyArn: pending.keyArn, keyState: 'PendingDeletion', origin: 'AWS_KMS', multiRegion: false, deletionDate: '2026-12-20T09:30:00.000Z', pendingWindowDays: 30 });
  });

  it('touches no key while authorising, whether it accepts or refuses', async () => {
    kms.addKey({ subjectId: 'user-1' });
    const named = kms.addKey({ tags: { 'erasure:subject': 'user-1' } });
    await expect(resolveErasureKeys(keys(), searchFor('user-1', [named.keyId]), keyPolicy, ACCOUNT_ID)).resolves.toHaveLength(2);
    kms.addKey({ alias: 'alias/erasure/subject/user-2', tags: { 'erasure:subject': 'user-3' } });
    await expect(resolveErasureKeys(keys(), searchFor('user-2'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({ name: 'KeyNotOwnedBySubject' });
    expect(kms.calls('DisableKey') + kms.calls('ScheduleKeyDeletion')).toBe(0);
    expect([...kms.keys.values()].map((key) => key.keyState)).toEqual(['Enabled', 'Enabled', 'Enabled']);
  });
});

describe('resolveErasureKeys of a multi-Region family', () => {
  const PRIMARY = 'arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef';
  const REPLICAS = ['arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef', 'arn:aws:kms:ap-southeast-2:111122223333:key/mrk-0123456789abcdef0123456789abcdef'];
  const ALIAS = 'alias/erasure/subject/user-1';

  // KMS as each member's Region answers it: tags are per member, the family is the same everywhere.
  // `replicasSeen`: the replicas a replica's own configuration lists, when it lags behind the primary's.
  function kmsWith(options: { tags?: Record<string, string | undefined>; deleted?: string[]; replicasSeen?: string[] } = {}) {
    const member = (keyArn: string): KmsKey => ({
      keyId: 'mrk-0123456789abcdef0123456789abcdef',
      keyArn,
      accountId: ACCOUNT_ID,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      origin: 'AWS_KMS',
      multiRegion: true,
      family: {
        role: keyArn === PRIMARY ? 'PRIMARY' : 'REPLICA',
        primaryArn: PRIMARY,
        replicaArns: (keyArn !== PRIMARY && options.replicasSeen ? options.replicasSeen : REPLICAS).filter((arn) => !options.deleted?.includes(arn)),
      },
      deletionDate: undefined,
    });
    const described: string[] = [];
    return {
      described,
      async describeKey(reference: string) {
        described.push(reference);
        const arn = reference === ALIAS ? PRIMARY : reference;
        return [PRIMARY, ...REPLICAS].includes(arn) && !options.deleted?.includes(arn) ? member(arn) : undefined;
      },
      async tagValue(keyArn: string) {
        return options.tags && keyArn in options.tags ? options.tags[keyArn] : 'user-1';
      },
    };
  }

  it('erases the whole family, replicas first and the primary last, each by its own ARN', async () => {
    const found = await resolveErasureKeys(kmsWith(), searchFor('user-1'), keyPolicy, ACCOUNT_ID);
    expect(found.map((key) => [key.keyArn, key.multiRegionKeyType])).toEqual([
      [REPLICAS[0], 'REPLICA'],
      [REPLICAS[1], 'REPLICA'],
      [PRIMARY, 'PRIMARY'],
    ]);
  });

  it('brings in the whole family when the closure names a replica', async () => {
    const kms = kmsWith();
    const found = await resolveErasureKeys({ ...kms, describeKey: (reference) => (reference === ALIAS ? Promise.resolve(undefined) : kms.describeKey(reference)) }, searchFor('user-1', [REPLICAS[1]!]), keyPolicy, ACCOUNT_ID);
    expect(found.map((key) => key.keyArn)).toEqual([...REPLICAS.slice().reverse(), PRIMARY]);
  });

  it('refuses the whole erasure when one replica does not carry the subject tag', async () => {
    await expect(resolveErasureKeys(kmsWith({ tags: { [REPLICAS[1]!]: undefined } }), searchFor('user-1'), keyPolicy, ACCOUNT_ID)).rejects.toMatchObject({
      name: 'KeyNotOwnedBySubject',
      message: expect.stringContaining(REPLICAS[1]!),
    });
  });

  it('leaves out a member KMS has deleted already', async () => {
    const found = await resolveErasureKeys(kmsWith({ deleted: [REPLICAS[0]!] }), searchFor('user-1'), keyPolicy, ACCOUNT_ID);
    expect(found.map((key) => key.keyArn)).toEqual([REPLICAS[1], PRIMARY]);
  });

  it("takes the family from the primary's configuration when the named replica's lags behind it", async () => {
    const kms = kmsWith({ replicasSeen: [REPLICAS[1]!] });
    const byName = { ...kms, describeKey: (reference: string) => (reference === ALIAS ? Promise.resolve(undefined) : kms.describeKey(reference)) };
    const found = await resolveErasureKeys(byName, searchFor('user-1', [REPLICAS[1]!]), keyPolicy, ACCOUNT_ID);
    expect(found.map((key) => key.keyArn).sort()).toEqual([...REPLICAS, PRIMARY].sort());
  });
});
