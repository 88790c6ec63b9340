import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { erasureLedger } from '../../../functions/lib/ledger/ledger.ts';
import { invoke } from '../../support/invoke.ts';
import { mockLedgerTable } from '../../support/ledger-mock.ts';
import { ERASURE_TOPIC_ARN, EXECUTION_ARN, ONCALL_TOPIC_ARN, erasureRequestFor, functionEnvironment, useFunctionEnvironment } from '../../support/settings.ts';

const sns = mockClient(SNSClient);
const kms = mockClient(KMSClient);
const ledger = mockLedgerTable();
let handler: typeof import('../../../functions/notify.ts').handler;

beforeAll(async () => {
  useFunctionEnvironment();
  ({ handler } = await import('../../../functions/notify.ts'));
});
afterEach(() => {
  sns.reset();
  kms.reset();
  ledger.reset();
});
// The mutation run shares modules between test files: a mock left in place would answer theirs.
afterAll(() => {
  sns.restore();
  kms.restore();
});

const request = erasureRequestFor('user-1');
const execution = EXECUTION_ARN;
const subject = request.subjectFingerprint;
const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/k-1';

/** The ledger of an erasure whose key KMS has deleted, verified: what a certificate is composed from. */
async function recordVerifiedErasure(): Promise<void> {
  const writer = erasureLedger(ledger.table, () => new Date('2026-12-21T10:00:00Z'));
  await writer.record(subject, null, { type: 'ClosureReceived', eventId: request.eventId, source: request.source, closedAt: request.closedAt });
  await writer.record(subject, execution, { type: 'ErasureStarted', eventId: request.eventId, executionName: 'erasure-1' });
  await writer.record(subject, execution, { type: 'KeysResolved', keys: [{ keyArn, keyId: 'k-1', origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }] });
  await writer.record(subject, execution, { type: 'DeletionVerified', checkedAt: '2026-12-21T10:00:00Z', keys: [{ keyArn, verifiedDeletedAt: '2026-12-21T10:00:00Z' }] });
}

describe('notify handler', () => {
  it('publishes a failure to the erasure topic and to on-call, then records it in the ledger', async () => {
    sns.on(PublishCommand).resolvesOnce({ MessageId: 'm-1' }).resolvesOnce({ MessageId: 'm-2' });
    const failure = { Error: 'KeyNotOwnedBySubject', Cause: JSON.stringify({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'not theirs' }) };
    await expect(invoke(handler, { kind: 'failed', execution, request, failure })).resolves.toEqual({ kind: 'failed', messageIds: ['m-1', 'm-2'] });
    const calls = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.TopicArn)).toEqual([ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN]);
    expect(calls[0]?.MessageAttributes?.eventType).toEqual({ DataType: 'String', StringValue: 'failed' });
    expect(ledger.eventTypes(subject)).toEqual(['NotificationPublished', 'NotificationPublished', 'ErasureFailed']);
  });

  it('publishes each notification once when Lambda retries the task', async () => {
    sns.on(PublishCommand).resolvesOnce({ MessageId: 'm-1' }).rejects(Object.assign(new Error('unavailable'), { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }));
    const failure = { Error: 'KeyNotFound', Cause: null };
    await expect(invoke(handler, { kind: 'failed', execution, request, failure })).rejects.toMatchObject({ name: 'AwsServerError' });
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    await expect(invoke(handler, { kind: 'failed', execution, request, failure })).resolves.toEqual({ kind: 'failed', messageIds: ['m-1', 'm-2'] });
    expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input.TopicArn)).toEqual([ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, ONCALL_TOPIC_ARN]);
  });

  it('signs the certificate of a completed erasure with the signing key, and records it before publishing', async () => {
    await recordVerifiedErasure();
    kms.on(SignCommand).resolves({ KeyId: functionEnvironment.CERTIFICATE_SIGNING_KEY_ARN, Signature: Buffer.from('3006020101020101', 'hex'), SigningAlgorithm: 'ECDSA_SHA_256' });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    const verification = { status: 'Deleted', checkedAt: '2026-12-21T10:00:00Z', nextCheckAt: null, keys: [{ keyArn, fate: 'Deleted', keyState: null, deletionDate: null }] };
    const outcome = await invoke(handler, { kind: 'completed', execution, request, keys: [], verification });
    expect(outcome).toMatchObject({ kind: 'completed', certificateId: expect.stringMatching(/^cert-/) });
    expect(kms.commandCalls(SignCommand)[0]?.args[0].input).toMatchObject({ KeyId: functionEnvironment.CERTIFICATE_SIGNING_KEY_ARN, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(ledger.eventTypes(subject).slice(-2)).toEqual(['CertificateIssued', 'NotificationPublished']);
    const published = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '{}');
    expect(published.certificate.signature).toMatchObject({ keyArn: functionEnvironment.CERTIFICATE_SIGNING_KEY_ARN, value: 'MAYCAQECAQE=' });
    expect(published.certificate.certificate.performedBy).toBe(functionEnvironment.ERASER_ROLE_ARN);
  });

  it('reads the ledger once for a completed erasure, and still publishes its notification once when Lambda retries the task', async () => {
    await recordVerifiedErasure();
    kms.on(SignCommand).resolves({ KeyId: functionEnvironment.CERTIFICATE_SIGNING_KEY_ARN, Signature: Buffer.from('3006020101020101', 'hex'), SigningAlgorithm: 'ECDSA_SHA_256' });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const verification = { status: 'Deleted', checkedAt: '2026-12-21T10:00:00Z', nextCheckAt: null, keys: [{ keyArn, fate: 'Deleted', keyState: null, deletionDate: null }] };
    const reads = () => ledger.documents.commandCalls(QueryCommand).length;

    const before = reads();
    const first = await invoke(handler, { kind: 'completed', execution, request, keys: [], verification });
    expect(reads() - before).toBe(1);
    const again = await invoke(handler, { kind: 'completed', execution, request, keys: [], verification });

    expect(again).toEqual(first);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(ledger.eventTypes(subject).slice(-2)).toEqual(['CertificateIssued', 'NotificationPublished']);
  });

  it('refuses an unknown notification kind', async () => {
    await expect(invoke(handler, { kind: 'erased-maybe', execution, request })).rejects.toMatchObject({ name: 'ParseError' });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('fails as AwsServerError when SNS is down, so the state machine retries', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('unavailable'), { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }));
    await expect(invoke(handler, { kind: 'scheduled', execution, request, keys: [] })).rejects.toMatchObject({ name: 'AwsServerError' });
  });
});
