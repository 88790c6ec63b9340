import { DecryptCommand, DisableKeyCommand, EncryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, HOME_REGION, keyInState, startKms, type KmsHarness } from './kms-harness.ts';

let harness: KmsHarness;
afterEach(async () => {
  await harness.close();
});

function cloudTrailEvents() {
  return harness.events.filter((event) => event.detailType === 'AWS API Call via CloudTrail');
}

describe('CloudTrail records of calls on a key pending deletion', () => {
  it('records a refused Decrypt in the shape CloudTrail delivers to EventBridge', async () => {
    harness = await startKms();
    const key = await keyInState(harness, 'PendingDeletion');
    const encryptionContext = { subject: 'subject-42' };
    await expect(
      harness.client().send(new DecryptCommand({ CiphertextBlob: key.ciphertext, EncryptionContext: encryptionContext })),
    ).rejects.toMatchObject({ name: 'KMSInvalidStateException' });

    const [event] = cloudTrailEvents();
    expect(cloudTrailEvents()).toHaveLength(1);
    expect(event).toMatchObject({
      source: 'aws.kms',
      detailType: 'AWS API Call via CloudTrail',
      resources: [key.arn],
      region: HOME_REGION,
      accountId: ACCOUNT_ID,
    });
    expect(event?.detail).toEqual({
      eventVersion: '1.08',
      userIdentity: { type: 'IAMUser', accountId: ACCOUNT_ID, accessKeyId: 'AKIAEMBEDDEDTEST' },
      eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      eventSource: 'kms.amazonaws.com',
      eventName: 'Decrypt',
      awsRegion: HOME_REGION,
      sourceIPAddress: '127.0.0.1',
      // The caller gave no KeyId: CloudTrail then names the key only in resources.
      requestParameters: { encryptionContext, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
      responseElements: null,
      errorCode: 'KMSInvalidStateException',
      errorMessage: `${key.arn} is pending deletion.`,
      requestID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      eventID: expect.stringMatching(/^[0-9a-f-]{36}$/),
      readOnly: true,
      resources: [{ ARN: key.arn, accountId: ACCOUNT_ID, type: 'AWS::KMS::Key' }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT_ID,
      eventCategory: 'Management',
    });
  });

  it('logs the KeyId the caller gave', async () => {
    harness = await startKms();
    const key = await keyInState(harness, 'PendingDeletion');
    await expect(
      harness.client().send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') })),
    ).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    expect(cloudTrailEvents()[0]?.detail).toMatchObject({
      eventName: 'Encrypt',
      readOnly: true,
      requestParameters: { keyId: key.keyId, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    });
  });

  it('records refused GenerateDataKey and DisableKey calls, the latter as a write', async () => {
    harness = await startKms();
    const key = await keyInState(harness, 'PendingDeletion');
    await expect(
      harness.client().send(new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_256' })),
    ).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(harness.client().send(new DisableKeyCommand({ KeyId: key.keyId }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
    });
    expect(cloudTrailEvents().map((event) => [event.detail.eventName, event.detail.readOnly, event.detail.errorMessage])).toEqual([
      ['GenerateDataKey', true, `${key.arn} is pending deletion.`],
      ['DisableKey', false, `${key.arn} is pending deletion.`],
    ]);
  });

  it('records nothing for a call refused because the key is merely disabled', async () => {
    harness = await startKms();
    const key = await keyInState(harness, 'Disabled');
    await expect(harness.client().send(new DecryptCommand({ CiphertextBlob: key.ciphertext }))).rejects.toMatchObject({
      name: 'DisabledException',
    });
    expect(cloudTrailEvents()).toHaveLength(0);
  });
});
