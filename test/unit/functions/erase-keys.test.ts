import { DisableKeyCommand, KMSInternalException } from '@aws-sdk/client-kms';
import { SFNClient, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { wholeSecondsAfter } from '../../../functions/lib/erasure/deletion-verification.ts';
import { useTimeSource } from '../../../functions/lib/runtime/clock.ts';
import { invoke } from '../../support/invoke.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { KmsDouble, arnOf, invalidState, throttled, type KeyRecord } from '../../support/kms-double.ts';
import { mockLedgerTable } from '../../support/ledger-mock.ts';
import { ACCOUNT_ID, REGION, erasureRequestFor, useFunctionEnvironment } from '../../support/settings.ts';

const sfn = mockClient(SFNClient);
const ledger = mockLedgerTable();
let eraseKeys: typeof import('../../../functions/erase-keys.ts').handler;

// The worker's pacer sleeps between KMS calls; on this clock a sleep moves time on at once.
let clockMs = Date.parse('2026-11-20T10:00:00Z');
let restoreTime: () => void;

beforeAll(async () => {
  useFunctionEnvironment();
  restoreTime = useTimeSource({
    now: () => new Date(clockMs),
    sleep: async (ms) => {
      clockMs += ms;
    },
  });
  ({ handler: eraseKeys } = await import('../../../functions/erase-keys.ts'));
});
afterAll(() => {
  restoreTime();
  sfn.restore();
  ledger.documents.restore();
});

const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:crypto-erasure-key-erasures-test.fifo`;
const DAY = 86_400_000;

function executionOf(subjectId: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:crypto-erasure-test:erasure-${subjectId}`;
}

/** What EraseKeysAtQuotaPace sends for one subject's keys (statemachines/erasure.asl.json). */
function keyErasureMessage(subjectId: string, keys: KeyRecord[], options: { receiveCount?: number } = {}): SQSRecord {
  const body = {
    taskToken: `token-${subjectId}`,
    execution: executionOf(subjectId),
    request: erasureRequestFor(subjectId),
    keys: keys.map((key) => ({ keyId: key.keyId, keyArn: arnOf(key), keyState: key.keyState, origin: 'AWS_KMS', multiRegion: false })),
  };
  return {
    messageId: `message-${subjectId}`,
    receiptHandle: `receipt-${subjectId}-${options.receiveCount ?? 1}`,
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(clockMs),
      SenderId: 'AROAEXAMPLE:states',
      ApproximateFirstReceiveTimestamp: String(clockMs),
      MessageGroupId: 'key-erasures',
      MessageDeduplicationId: `erasure-${subjectId}`,
      SequenceNumber: '18849496460467696128',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: REGION,
  };
}

function drain(...records: SQSRecord[]): Promise<SQSBatchResponse> {
  const event: SQSEvent = { Records: records };
  return invoke(eraseKeys, event, 'crypto-erasure-test-eraseKeys') as Promise<SQSBatchResponse>;
}

/** The output each waiting task was answered with, by task token. */
function answers(): Map<string, { keys: Array<Record<string, unknown>>; firstCheckAt: string }> {
  return new Map(sfn.commandCalls(SendTaskSuccessCommand).map((call) => [call.args[0].input.taskToken ?? '', JSON.parse(call.args[0].input.output ?? '{}')]));
}

function failures(): Array<{ taskToken?: string; error?: string }> {
  return sfn.commandCalls(SendTaskFailureCommand).map((call) => ({ taskToken: call.args[0].input.taskToken, error: call.args[0].input.error }));
}

function serverError(): KMSInternalException {
  return new KMSInternalException({ message: 'An internal error occurred', $metadata: { httpStatusCode: 500 } });
}

describe('eraseKeys', () => {
  let kms: KmsDouble;
  beforeEach(() => {
    kms = new KmsDouble();
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
  });
  afterEach(() => {
    kms.restore();
    sfn.reset();
    ledger.reset();
  });

  it('disables then schedules the deletion of each key, and answers the waiting erasure with the scheduled keys', async () => {
    const first = kms.addKey({ subjectId: 'user-1' });
    const second = kms.addKey({ subjectId: 'user-1' });

    const response = await drain(keyErasureMessage('user-1', [first, second]));

    expect(response.batchItemFailures).toEqual([]);
    expect([first.keyState, second.keyState]).toEqual(['PendingDeletion', 'PendingDeletion']);
    const answer = answers().get('token-user-1');
    expect(answer?.keys).toEqual([
      expect.objectContaining({ keyArn: arnOf(first), keyState: 'PendingDeletion', pendingWindowDays: 7, alreadyScheduled: false, deletionDate: first.deletionDate?.toISOString() }),
      expect.objectContaining({ keyArn: arnOf(second), keyState: 'PendingDeletion', pendingWindowDays: 7, alreadyScheduled: false, deletionDate: second.deletionDate?.toISOString() }),
    ]);
    expect(answer?.firstCheckAt).toBe(wholeSecondsAfter(second.deletionDate?.getTime() ?? 0));
    expect(ledger.eventTypes(erasureRequestFor('user-1').subjectFingerprint)).toEqual(['KeyDisabled', 'KeyDeletionScheduled', 'KeyDisabled', 'KeyDeletionScheduled']);
  });

  it('sets no host timer from the remaining time: the batch is not failed while the erasures are answered', async () => {
    const keys = ['user-1', 'user-2'].map((subjectId) => kms.addKey({ subjectId }));
    const event: SQSEvent = { Records: keys.map((key, index) => keyErasureMessage(`user-${index + 1}`, [key])) };
    // Where time is virtual the host's clock runs on while Lambda's stands still: as if none were left.
    const context = { ...lambdaContext('crypto-erasure-test-eraseKeys'), getRemainingTimeInMillis: () => 0 };

    const response = (await eraseKeys(event, context)) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect([...answers().keys()]).toEqual(['token-user-1', 'token-user-2']);
  });

  it('schedules with the configured waiting period, the first check due at the deletion date', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    const sentAt = clockMs;

    await drain(keyErasureMessage('user-1', [key]));

    const deletionDate = key.deletionDate?.getTime() ?? 0;
    expect(deletionDate - sentAt).toBeGreaterThanOrEqual(7 * DAY);
    expect(deletionDate - sentAt).toBeLessThan(7 * DAY + 60_000);
    expect(answers().get('token-user-1')?.firstCheckAt).toBe(wholeSecondsAfter(deletionDate));
  });

  it('answers each erasure of a batch, in order of arrival', async () => {
    const keys = ['user-1', 'user-2', 'user-3'].map((subjectId) => kms.addKey({ subjectId }));

    const response = await drain(...keys.map((key, index) => keyErasureMessage(`user-${index + 1}`, [key])));

    expect(response.batchItemFailures).toEqual([]);
    expect([...answers().keys()]).toEqual(['token-user-1', 'token-user-2', 'token-user-3']);
    expect(keys.map((key) => key.keyState)).toEqual(['PendingDeletion', 'PendingDeletion', 'PendingDeletion']);
  });

  it('does no harm when a message is delivered again, recording each step once and answering with the same deletion date', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    // A Step Functions outage outlasts the worker's retries in place: the message comes back.
    const outage = () => Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
    sfn.on(SendTaskSuccessCommand).rejectsOnce(outage()).rejectsOnce(outage()).rejectsOnce(outage()).rejectsOnce(outage()).rejectsOnce(outage());

    const first = await drain(keyErasureMessage('user-1', [key]));
    const again = await drain(keyErasureMessage('user-1', [key], { receiveCount: 2 }));

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'message-user-1' }]);
    expect(again.batchItemFailures).toEqual([]);
    expect(key.keyState).toBe('PendingDeletion');
    expect(answers().get('token-user-1')?.keys).toEqual([expect.objectContaining({ keyArn: arnOf(key), deletionDate: key.deletionDate?.toISOString(), alreadyScheduled: true })]);
    expect(ledger.eventTypes(erasureRequestFor('user-1').subjectFingerprint)).toEqual(['KeyDisabled', 'KeyDeletionScheduled']);
    expect(failures()).toEqual([]);
  });

  it('retries a failure for want of AWS in place, so the queue behind it does not wait out a visibility timeout', async () => {
    const keys = ['user-1', 'user-2'].map((subjectId) => kms.addKey({ subjectId }));
    kms.failNext('DisableKey', serverError(), serverError());

    const response = await drain(...keys.map((key, index) => keyErasureMessage(`user-${index + 1}`, [key])));

    expect(response.batchItemFailures).toEqual([]);
    expect([...answers().keys()]).toEqual(['token-user-1', 'token-user-2']);
    expect(keys.map((key) => key.keyState)).toEqual(['PendingDeletion', 'PendingDeletion']);
    expect(failures()).toEqual([]);
  });

  it('touches no key of an erasure that was stopped while its keys queued', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    sfn.on(SendTaskHeartbeatCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: { httpStatusCode: 400 } }));

    const response = await drain(keyErasureMessage('user-1', [key]));

    expect(response.batchItemFailures).toEqual([]);
    expect(key.keyState).toBe('Enabled');
    expect(kms.calls('DisableKey')).toBe(0);
    expect(answers().size + failures().length).toBe(0);
    expect(ledger.eventTypes(erasureRequestFor('user-1').subjectFingerprint)).toEqual([]);
  });

  it('waits out a throttled DisableKey and never fails the erasure for it', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.failNext('DisableKey', ...Array.from({ length: 12 }, () => throttled()));

    const response = await drain(keyErasureMessage('user-1', [key]));

    expect(response.batchItemFailures).toEqual([]);
    expect(failures()).toEqual([]);
    expect(key.keyState).toBe('PendingDeletion');
    expect(kms.calls('DisableKey')).toBe(13);
    expect(answers().get('token-user-1')?.keys).toEqual([expect.objectContaining({ keyArn: arnOf(key) })]);
  });

  it('fails the erasure with the name of a refusal from KMS, and goes on to the next message', async () => {
    const refused = kms.addKey({ subjectId: 'user-1' });
    const next = kms.addKey({ subjectId: 'user-2' });
    kms.failNext('DisableKey', invalidState(`${arnOf(refused)} is creating.`));

    const response = await drain(keyErasureMessage('user-1', [refused]), keyErasureMessage('user-2', [next]));

    expect(response.batchItemFailures).toEqual([]);
    expect(failures()).toEqual([{ taskToken: 'token-user-1', error: 'KMSInvalidStateException' }]);
    expect(refused.keyState).toBe('Enabled');
    expect(next.keyState).toBe('PendingDeletion');
    expect([...answers().keys()]).toEqual(['token-user-2']);
  });

  it('returns a message that failed for want of AWS to the queue, with every message after it', async () => {
    const keys = ['user-1', 'user-2', 'user-3'].map((subjectId) => kms.addKey({ subjectId }));
    kms.mock.on(DisableKeyCommand, { KeyId: arnOf(keys[1] as KeyRecord) }).rejects(serverError());

    const response = await drain(...keys.map((key, index) => keyErasureMessage(`user-${index + 1}`, [key])));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'message-user-2' }, { itemIdentifier: 'message-user-3' }]);
    expect([...answers().keys()]).toEqual(['token-user-1']);
    expect(failures()).toEqual([]);
    expect(keys[2]?.keyState).toBe('Enabled');
    // One call for user-1, then user-2's five attempts in place.
    expect(kms.calls('DisableKey')).toBe(6);
  });

  it('fails the erasure once a message has been received five times without AWS answering', async () => {
    const key = kms.addKey({ subjectId: 'user-1' });
    kms.mock.on(DisableKeyCommand, { KeyId: arnOf(key) }).rejects(serverError());

    const fourth = await drain(keyErasureMessage('user-1', [key], { receiveCount: 4 }));
    const fifth = await drain(keyErasureMessage('user-1', [key], { receiveCount: 5 }));

    expect(fourth.batchItemFailures).toEqual([{ itemIdentifier: 'message-user-1' }]);
    expect(fifth.batchItemFailures).toEqual([]);
    expect(failures()).toEqual([{ taskToken: 'token-user-1', error: 'AwsServerError' }]);
    expect(answers().size).toBe(0);
  });

  it('answers no one for a message the state machine did not write', async () => {
    const response = await drain({ ...keyErasureMessage('user-1', []), body: '{"keys":"all of them"}' });

    expect(response.batchItemFailures).toEqual([]);
    expect(answers().size + failures().length).toBe(0);
  });
});
