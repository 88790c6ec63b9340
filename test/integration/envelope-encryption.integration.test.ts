import { CreateAliasCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { decryptRecord, encryptRecord, subjectKeyring } from '../../cli/demo/envelope-encryption.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { ACCOUNT_ID, createKey, DAY_MS, HOME_REGION, kmsForThisFile } from '../embedded-aws/kms/kms-harness.ts';

const harness = kmsForThisFile();
const subject = fingerprintSubject('user-4821');

function clientConfig() {
  return { endpoint: harness.endpoint, region: HOME_REGION, credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'embedded-secret' } };
}

async function subjectRecord(plaintext = 'user-4821 profile') {
  const key = await createKey(harness.client());
  const keyring = subjectKeyring(clientConfig(), key.arn);
  return { key, keyring, record: await encryptRecord(keyring, subject, plaintext) };
}

describe('sample records encrypted with the AWS Encryption SDK', () => {
  it('decrypts a record for its subject while the key is enabled', async () => {
    const { keyring, record } = await subjectRecord('user-4821 order history');

    await expect(decryptRecord(keyring, subject, record)).resolves.toBe('user-4821 order history');
  });

  it('refuses a record whose encryption context names another subject', async () => {
    const { keyring, record } = await subjectRecord();

    await expect(decryptRecord(keyring, fingerprintSubject('user-5190'), record)).rejects.toMatchObject({ name: 'RecordOfAnotherSubject' });
  });

  it("reports KMS's refusal while the key is pending deletion", async () => {
    const { key, keyring, record } = await subjectRecord();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));

    await expect(decryptRecord(keyring, subject, record)).rejects.toMatchObject({
      name: 'RecordUnreadable',
      kmsError: { name: 'KMSInvalidStateException', message: `${key.arn} is pending deletion.` },
    });
  });

  it('leaves the record undecryptable once KMS has deleted the key', async () => {
    const { key, keyring, record } = await subjectRecord();
    await harness.client().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
    harness.clock.advance(7 * DAY_MS + 1);

    await expect(decryptRecord(keyring, subject, record)).rejects.toMatchObject({
      name: 'RecordUnreadable',
      kmsError: { name: 'NotFoundException', message: `Key '${key.arn}' does not exist` },
    });
  });

  it('encrypts through an alias ARN, but decrypts only through the key ARN the record names', async () => {
    const key = await createKey(harness.client());
    await harness.client().send(new CreateAliasCommand({ AliasName: 'alias/erasure/subject/user-4821', TargetKeyId: key.keyId }));
    const aliasArn = `arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:alias/erasure/subject/user-4821`;
    const record = await encryptRecord(subjectKeyring(clientConfig(), aliasArn), subject, 'user-4821 profile');

    await expect(decryptRecord(subjectKeyring(clientConfig(), key.arn), subject, record)).resolves.toBe('user-4821 profile');
    await expect(decryptRecord(subjectKeyring(clientConfig(), aliasArn), subject, record)).rejects.toMatchObject({ name: 'RecordUnreadable', kmsError: undefined });
  });
});
