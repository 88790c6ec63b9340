import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsServiceError, type ServiceCall } from '../../../embedded-aws/protocol.ts';
import { ACCOUNT_ID, HOME_REGION, REPLICA_REGION, startKms, type KmsHarness } from './kms-harness.ts';

let harness: KmsHarness;
afterEach(async () => {
  await harness.close();
});

describe('CreateKey and DescribeKey', () => {
  it('describes a new key with the full KeyMetadata the SDK deserialises', async () => {
    harness = await startKms();
    const createdAt = harness.clock.now().getTime();
    const { KeyMetadata: created } = await harness
      .client()
      .send(new CreateKeyCommand({ Description: 'erasure key', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }));
    const { KeyMetadata } = await harness.client().send(new DescribeKeyCommand({ KeyId: created?.Arn }));
    expect(KeyMetadata).toEqual({
      AWSAccountId: ACCOUNT_ID,
      KeyId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      Arn: `arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:key/${created?.KeyId}`,
      CreationDate: expect.any(Date),
      Enabled: true,
      Description: 'erasure key',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
      CurrentKeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(Math.abs((KeyMetadata?.CreationDate?.getTime() ?? 0) - createdAt)).toBeLessThan(1000);
  });

  it('keeps keys apart by Region', async () => {
    harness = await startKms();
    const { KeyMetadata } = await harness.client().send(new CreateKeyCommand({}));
    await expect(
      harness.client(REPLICA_REGION).send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId })),
    ).rejects.toMatchObject({
      name: 'NotFoundException',
      message: `Key 'arn:aws:kms:${REPLICA_REGION}:${ACCOUNT_ID}:key/${KeyMetadata?.KeyId}' does not exist`,
    });
  });

  it('refuses key specs it does not implement, such as HMAC keys', async () => {
    harness = await startKms();
    await expect(
      harness.client().send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })),
    ).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
  });
});

describe('request validation', () => {
  it('refuses a call without KeyId with ValidationException', async () => {
    harness = await startKms();
    await expect(harness.client().send(new DisableKeyCommand({ KeyId: undefined }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    });
  });

  it('answers NotFoundException for a key that never existed', async () => {
    harness = await startKms();
    const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
    await expect(harness.client().send(new DescribeKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({
      name: 'NotFoundException',
      message: `Key 'arn:aws:kms:${HOME_REGION}:${ACCOUNT_ID}:key/${keyId}' does not exist`,
    });
  });

  it('answers UnknownOperationException for an operation it does not implement', async () => {
    harness = await startKms();
    const response = await fetch(harness.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.RotateKeyOnDemand' },
      body: JSON.stringify({ KeyId: 'any' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: 'UnknownOperationException',
      message: 'The embedded KMS does not implement RotateKeyOnDemand.',
    });
  });
});

describe('fault injection', () => {
  it('fails a call with the error the fault injector returns, seeing the call it fails', async () => {
    const calls: ServiceCall[] = [];
    harness = await startKms({
      faults: (call) => {
        calls.push(call);
        return call.operation === 'Encrypt'
          ? new AwsServiceError('KMSInternalException', 'injected failure', 500)
          : undefined;
      },
    });
    const kms = harness.client(HOME_REGION, { maxAttempts: 1 });
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await expect(
      kms.send(new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: Buffer.from('x') })),
    ).rejects.toMatchObject({ name: 'KMSInternalException', message: 'injected failure' });
    expect(calls.map((call) => [call.service, call.operation, call.region])).toEqual([
      ['kms', 'CreateKey', HOME_REGION],
      ['kms', 'Encrypt', HOME_REGION],
    ]);
    expect(calls[1]?.input).toMatchObject({ KeyId: KeyMetadata?.KeyId });
  });

  it('leaves state untouched when a fault fails the call', async () => {
    harness = await startKms({
      faults: (call) =>
        call.operation === 'DisableKey' ? new AwsServiceError('ThrottlingException', 'Rate exceeded') : undefined,
    });
    const kms = harness.client(HOME_REGION, { maxAttempts: 1 });
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await expect(kms.send(new DisableKeyCommand({ KeyId: KeyMetadata?.KeyId }))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    const described = await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId }));
    expect(described.KeyMetadata?.KeyState).toBe('Enabled');
  });
});
