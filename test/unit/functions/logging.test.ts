import { readFileSync } from 'node:fs';
import { SFNClient, SendTaskHeartbeatCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { captureLogs, invoke } from '../../support/invoke.ts';
import { KmsDouble, arnOf } from '../../support/kms-double.ts';
import { mockLedgerTable } from '../../support/ledger-mock.ts';
import { useFunctionEnvironment } from '../../support/settings.ts';

const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const ledger = mockLedgerTable();
let kms: KmsDouble;
let intake: typeof import('../../../functions/intake.ts').handler;
let eraseKeys: typeof import('../../../functions/erase-keys.ts').handler;

beforeAll(async () => {
  useFunctionEnvironment();
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  kms = new KmsDouble();
  ({ handler: intake } = await import('../../../functions/intake.ts'));
  ({ handler: eraseKeys } = await import('../../../functions/erase-keys.ts'));
});
afterAll(() => {
  kms.restore();
  sfn.restore();
  sqs.restore();
  ledger.documents.restore();
});

const closure = JSON.parse(readFileSync('events/account-closed.json', 'utf8'));
const fingerprint = fingerprintSubject('user-4821');

describe('handler logs', () => {
  it('carry the fingerprint and event id, never the subject id', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:m:e', startDate: new Date() });
    const { logs, outcome } = await captureLogs(() => invoke(intake, closure));
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { outcome: 'started' } });
    expect(logs).toContain(fingerprint);
    expect(logs).toContain(closure.id);
    expect(logs).not.toContain('user-4821');
  });

  it('never carry the subject id, even when refusing a malformed event', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dl-1' });
    const { logs, outcome } = await captureLogs(() => invoke(intake, { ...closure, detail: { ...closure.detail, closedAt: 'soon' } }));
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { outcome: 'rejected', reason: expect.stringContaining('detail.closedAt') } });
    expect(logs).toContain('closure rejected');
    expect(logs).toContain(closure.id);
    expect(logs).not.toContain('user-4821');
  });

  it('carry the execution and event ids as correlation keys on every line of the key erasure worker', async () => {
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const key = kms.addKey({ subjectId: 'user-4821' });
    const execution = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-1';
    const request = { subjectId: 'user-4821', subjectFingerprint: fingerprint, eventId: closure.id, source: closure.source, closedAt: closure.detail.closedAt, reason: null, keyIds: [] };
    const keys = [{ keyId: key.keyId, keyArn: arnOf(key), keyState: 'Enabled', origin: 'AWS_KMS', multiRegion: false }];
    const message = { messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify({ taskToken: 't-1', execution, request, keys }), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {} };
    const { logs, outcome } = await captureLogs(() => invoke(eraseKeys, { Records: [message] }));
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { batchItemFailures: [] } });
    expect(key.keyState).toBe('PendingDeletion');
    const lines = logs.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ executionId: execution, eventId: closure.id, subject: fingerprint });
    expect(logs).not.toContain('"user-4821"');
  });

  it("never lend one erasure's ids to the next message of the worker's batch", async () => {
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const key = kms.addKey({ subjectId: 'user-4821' });
    const execution = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-2';
    const request = { subjectId: 'user-4821', subjectFingerprint: fingerprint, eventId: closure.id, source: closure.source, closedAt: closure.detail.closedAt, reason: null, keyIds: [] };
    const keys = [{ keyId: key.keyId, keyArn: arnOf(key), keyState: 'Enabled', origin: 'AWS_KMS', multiRegion: false }];
    const erasure = { messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify({ taskToken: 't-1', execution, request, keys }), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {} };
    const stray = { messageId: 'm-2', receiptHandle: 'r-2', body: '{}', attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {} };
    const { logs } = await captureLogs(() => invoke(eraseKeys, { Records: [erasure, stray] }));
    const refusal = logs.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.message === 'key erasure message refused');
    expect(refusal).toMatchObject({ messageId: 'm-2' });
    expect(refusal).not.toHaveProperty('executionId');
    expect(refusal).not.toHaveProperty('eventId');
  });
});
