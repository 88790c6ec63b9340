import { createPublicKey, constants, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ReplicateKeyCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { AwsServiceError, type ServiceCall } from '../../embedded-aws/protocol.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, keyStateOf, notificationsOf, publishClosure, sampleClosure } from '../support/embedded.ts';

/**
 * Every shape of key a subject can have, erased end to end on the embedded AWS: a multi-Region
 * family (each member in its own Region), imported key material in immediate mode, a tenant's
 * dozens of keys across Regions, and a retry after a partial failure.
 */
const HOME = 'eu-west-1';
const REPLICA_REGIONS = ['us-east-1', 'ap-southeast-2'];
const SUBJECT_TAG = 'erasure:subject';
const REPLICA_CREATION_MS = 60_000;

let aws: EmbeddedAws;
let faultOf: (call: ServiceCall) => AwsServiceError | undefined = () => undefined;
const calls: ServiceCall[] = [];

beforeAll(async () => {
  aws = await startEmbeddedAws({
    environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    log: () => undefined,
    params: { immediateErasureReasons: 'breach' },
    faults: (call) => {
      if (call.service === 'kms') calls.push(call);
      return faultOf(call);
    },
  });
}, 60_000);
afterAll(async () => aws?.close());

const kmsIn = (region: string) => new KMSClient({ ...aws.clientConfig, region });
const home = () => kmsIn(HOME);
const regionOf = (arn: string) => arn.split(':')[3] ?? '';
const stateOf = (arn: string) => keyStateOf(kmsIn(regionOf(arn)), arn);

async function multiRegionFamily(subjectId: string, options: { tagReplicas?: boolean } = {}) {
  const primary = await createSubjectKey(home(), subjectId, { multiRegion: true });
  const replicas: string[] = [];
  for (const region of REPLICA_REGIONS) {
    const tags = options.tagReplicas === false ? [] : [{ TagKey: SUBJECT_TAG, TagValue: subjectId }];
    const { ReplicaKeyMetadata } = await home().send(new ReplicateKeyCommand({ KeyId: primary.arn, ReplicaRegion: region, Tags: tags }));
    replicas.push(ReplicaKeyMetadata?.Arn ?? '');
  }
  // A replica is Creating for a few seconds after ReplicateKey, as on AWS.
  await aws.runUntil(new Date(aws.clock.now().getTime() + REPLICA_CREATION_MS));
  return { primary: primary.arn, replicas };
}

async function decrypts(arn: string, ciphertext: Uint8Array): Promise<boolean> {
  return kmsIn(regionOf(arn))
    .send(new DecryptCommand({ KeyId: arn, CiphertextBlob: ciphertext }))
    .then(
      () => true,
      () => false,
    );
}

function executionsOf(subjectId: string) {
  const fingerprint = fingerprintSubject(subjectId);
  return aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).filter((execution) => execution.name.startsWith(`erasure-${fingerprint}`));
}

function certifiedKeys(subjectId: string) {
  const completed = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject(subjectId)).find((notification) => notification.kind === 'completed');
  return (completed?.body.certificate.certificate.sanitized.keys ?? []) as { keyArn: string; region: string; multiRegionKeyType: string | null; verifiedDeletedAt: string }[];
}

describe('a multi-Region key', () => {
  it('is erased whole: each replica in its own Region, then the primary; none decrypts; the certificate lists all three', async () => {
    const family = await multiRegionFamily('family-whole');
    const { CiphertextBlob } = await home().send(new EncryptCommand({ KeyId: family.primary, Plaintext: Buffer.from('a record') }));
    const members = [family.primary, ...family.replicas];
    expect(await Promise.all(members.map((arn) => decrypts(arn, CiphertextBlob!)))).toEqual([true, true, true]);

    await publishClosure(aws, sampleClosure('family-whole').detail);
    await aws.runToCompletion();

    expect(executionsOf('family-whole')).toEqual([expect.objectContaining({ status: 'SUCCEEDED' })]);
    expect(await Promise.all(members.map(stateOf))).toEqual(['NotFoundException', 'NotFoundException', 'NotFoundException']);
    expect(await Promise.all(members.map((arn) => decrypts(arn, CiphertextBlob!)))).toEqual([false, false, false]);
    const certified = certifiedKeys('family-whole');
    expect(certified.map((key) => [key.keyArn, key.region, key.multiRegionKeyType])).toEqual([
      [family.replicas[0], 'us-east-1', 'REPLICA'],
      [family.replicas[1], 'ap-southeast-2', 'REPLICA'],
      [family.primary, HOME, 'PRIMARY'],
    ]);
    expect(certified.every((key) => Number.isFinite(Date.parse(key.verifiedDeletedAt)))).toBe(true);
  });

  it('is erased whole when the closure names a replica rather than the primary', async () => {
    const family = await multiRegionFamily('family-by-replica');
    await publishClosure(aws, sampleClosure('family-by-replica', { keyIds: [family.replicas[1]] }).detail);
    await aws.runToCompletion();

    expect(await Promise.all([family.primary, ...family.replicas].map(stateOf))).toEqual(['NotFoundException', 'NotFoundException', 'NotFoundException']);
    expect(certifiedKeys('family-by-replica')).toHaveLength(3);
  });

  it('refuses the erasure, touching no member, when a replica does not carry the subject tag', async () => {
    const family = await multiRegionFamily('family-untagged', { tagReplicas: false });
    await publishClosure(aws, sampleClosure('family-untagged').detail);
    await aws.runToCompletion();

    expect(executionsOf('family-untagged')).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    expect(await Promise.all([family.primary, ...family.replicas].map(stateOf))).toEqual(['Enabled', 'Enabled', 'Enabled']);
    const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprintSubject('family-untagged'));
    expect(alerts.map((alert) => alert.body.error)).toEqual(['KeyNotOwnedBySubject']);
  });

  it('pages on-call and claims no completion when someone cancels a replica deletion in the waiting period', async () => {
    const family = await multiRegionFamily('family-cancelled');
    await publishClosure(aws, sampleClosure('family-cancelled').detail);
    await aws.runUntil(new Date(aws.clock.now().getTime() + 86_400_000));
    expect(await stateOf(family.replicas[0]!)).toBe('PendingDeletion');

    await kmsIn(REPLICA_REGIONS[0]!).send(new CancelKeyDeletionCommand({ KeyId: family.replicas[0] }));
    await aws.runToCompletion();

    const kinds = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('family-cancelled')).map((notification) => notification.kind);
    expect(kinds).toEqual(['scheduled', 'cancelled']);
    const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprintSubject('family-cancelled'));
    expect(alerts).toEqual([expect.objectContaining({ kind: 'cancelled', body: expect.objectContaining({ severity: 'critical' }) })]);
    // The cancelled replica keeps the family's material, so the primary cannot be deleted either.
    expect(await stateOf(family.replicas[0]!)).toBe('Disabled');
    expect(await stateOf(family.primary)).toBe('PendingReplicaDeletion');
  });
});

describe('imported key material in immediate mode', () => {
  it('stops decrypting within the same virtual second as the closure, then is deleted as any key', async () => {
    const { KeyMetadata } = await home().send(new CreateKeyCommand({ Origin: 'EXTERNAL', Tags: [{ TagKey: SUBJECT_TAG, TagValue: 'imported-breach' }] }));
    const keyArn = KeyMetadata?.Arn ?? '';
    await importMaterial(keyArn, randomBytes(32));
    await createAlias('imported-breach', keyArn);
    const { CiphertextBlob } = await home().send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('a record') }));
    expect(await decrypts(keyArn, CiphertextBlob!)).toBe(true);

    const closedAt = aws.clock.now();
    await publishClosure(aws, sampleClosure('imported-breach', { reason: 'breach' }).detail);
    await aws.runUntil(new Date(closedAt.getTime() + 999));

    expect(await decrypts(keyArn, CiphertextBlob!)).toBe(false);
    expect(await stateOf(keyArn)).toBe('PendingDeletion');
    await aws.runToCompletion();
    expect(await stateOf(keyArn)).toBe('NotFoundException');
    const completed = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('imported-breach')).find((notification) => notification.kind === 'completed');
    const certificate = completed?.body.certificate.certificate;
    expect(certificate?.sanitized.keys).toEqual([expect.objectContaining({ keyArn, origin: 'EXTERNAL', keyMaterialDeletedAt: expect.any(String) })]);
    expect(certificate?.postSanitizationState).toContain('only if no other copy of that material exists');
  });

  it('keeps the material until the deletion when the closure reason is not an immediate one', async () => {
    const { KeyMetadata } = await home().send(new CreateKeyCommand({ Origin: 'EXTERNAL', Tags: [{ TagKey: SUBJECT_TAG, TagValue: 'imported-scheduled' }] }));
    const keyArn = KeyMetadata?.Arn ?? '';
    await importMaterial(keyArn, randomBytes(32));
    await createAlias('imported-scheduled', keyArn);

    await publishClosure(aws, sampleClosure('imported-scheduled').detail);
    await aws.runUntil(new Date(aws.clock.now().getTime() + 999));

    expect(calls.filter((call) => call.operation === 'DeleteImportedKeyMaterial' && call.input.KeyId === keyArn)).toEqual([]);
    expect(await stateOf(keyArn)).toBe('PendingDeletion');
    await aws.runToCompletion();
  });
});

describe("a tenant's many keys", () => {
  it('erases 50 keys across 3 Regions with one certificate', async () => {
    const regions = [HOME, ...REPLICA_REGIONS];
    const keyArns: string[] = [];
    for (let index = 0; index < 50; index++) {
      const region = regions[index % regions.length]!;
      const { KeyMetadata } = await kmsIn(region).send(new CreateKeyCommand({ Tags: [{ TagKey: SUBJECT_TAG, TagValue: 'tenant-fifty' }] }));
      keyArns.push(KeyMetadata?.Arn ?? '');
    }

    await publishClosure(aws, sampleClosure('tenant-fifty', { keyIds: keyArns }).detail);
    await aws.runToCompletion();

    expect(new Set(await Promise.all(keyArns.map(stateOf)))).toEqual(new Set(['NotFoundException']));
    const completed = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('tenant-fifty')).filter((notification) => notification.kind === 'completed');
    expect(completed).toHaveLength(1);
    expect(new Set(certifiedKeys('tenant-fifty').map((key) => key.keyArn))).toEqual(new Set(keyArns));
    expect(new Set(certifiedKeys('tenant-fifty').map((key) => key.region))).toEqual(new Set(regions));
  });

  it('reports which keys are done after a partial failure, and a retry touches only what was left', async () => {
    const keyArns: string[] = [];
    for (const region of [HOME, ...REPLICA_REGIONS, HOME]) {
      const { KeyMetadata } = await kmsIn(region).send(new CreateKeyCommand({ Tags: [{ TagKey: SUBJECT_TAG, TagValue: 'tenant-partial' }] }));
      keyArns.push(KeyMetadata?.Arn ?? '');
    }
    const refused = keyArns[2]!;
    faultOf = (call) =>
      call.operation === 'DisableKey' && call.input.KeyId === refused ? new AwsServiceError('AccessDeniedException', 'not authorized to perform kms:DisableKey') : undefined;

    await publishClosure(aws, sampleClosure('tenant-partial', { keyIds: keyArns }).detail);
    await aws.runToCompletion();
    faultOf = () => undefined;

    expect(executionsOf('tenant-partial')).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    expect(await Promise.all(keyArns.map(stateOf))).toEqual(['PendingDeletion', 'PendingDeletion', 'Enabled', 'Enabled']);
    const [failed] = notificationsOf(aws, 'OnCallAlertsTopic', fingerprintSubject('tenant-partial'));
    expect(failed?.body.error).toBe('KeyErasureIncomplete');
    expect(failed?.body.message).toContain(`2 of 4 keys scheduled for deletion (${keyArns[0]}, ${keyArns[1]})`);
    expect(failed?.body.message).toContain(`not done: ${keyArns[2]}, ${keyArns[3]}`);

    const before = calls.length;
    await publishClosure(aws, sampleClosure('tenant-partial', { keyIds: keyArns, closedAt: new Date().toISOString() }).detail);
    await aws.runToCompletion();

    const changing = calls.slice(before).filter((call) => ['DisableKey', 'ScheduleKeyDeletion'].includes(call.operation));
    expect(new Set(changing.map((call) => call.input.KeyId))).toEqual(new Set([keyArns[2], keyArns[3]]));
    expect(await Promise.all(keyArns.map(stateOf))).toEqual(keyArns.map(() => 'NotFoundException'));
    expect(new Set(certifiedKeys('tenant-partial').map((key) => key.keyArn))).toEqual(new Set(keyArns));
  });
});

async function createAlias(subjectId: string, keyArn: string): Promise<void> {
  await home().send(new CreateAliasCommand({ AliasName: `alias/erasure/subject/${subjectId}`, TargetKeyId: keyArn }));
}

/** Wraps the material with the import parameters' public key (RSAES_OAEP_SHA_256) and imports it, as a user's HSM tooling does. */
async function importMaterial(keyArn: string, material: Buffer): Promise<void> {
  const parameters = await home().send(new GetParametersForImportCommand({ KeyId: keyArn, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  const wrappingKey = createPublicKey({ key: Buffer.from(parameters.PublicKey ?? []), format: 'der', type: 'spki' });
  const encrypted = publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
  await home().send(
    new ImportKeyMaterialCommand({ KeyId: keyArn, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: encrypted, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
  );
}
