import { KMSClient } from '@aws-sdk/client-kms';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { wholeSecondsAfter } from '../../functions/lib/erasure/deletion-verification.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, sampleClosure, keyStateOf } from '../support/embedded.ts';
import { erasureRequestFor } from '../support/settings.ts';

/**
 * Each handler, invoked as Lambda invokes it, against the embedded AWS: real SDK clients over
 * loopback, the environment serverless.yml gives each function, no mocks. The clock runs at real
 * speed and is moved on by hand when a test needs a waiting period to pass.
 */
let aws: EmbeddedAws;
let kms: KMSClient;
const DAY = 86_400_000;

beforeAll(async () => {
  aws = await startEmbeddedAws({ timeScale: 1, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  kms = new KMSClient(aws.clientConfig);
}, 60_000);
afterAll(async () => aws?.close());

const invoke = (fn: string, payload: unknown) => aws.lambda.invoke(`crypto-erasure-local-${fn}`, payload);
const execution = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-local:erasure-integration';

const requestFor = erasureRequestFor;

const keyState = (keyId: string) => keyStateOf(kms, keyId);

describe('intake against the embedded AWS', () => {
  it('starts the erasure in Step Functions under the fingerprint name', async () => {
    const start = (await invoke('intake', { ...sampleClosure('int-intake'), id: 'int-intake-1' })) as { outcome: string; executionArn: string };
    expect(start.outcome).toBe('started');
    const sfn = new SFNClient(aws.clientConfig);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: start.executionArn }));
    expect(described.name).toBe(`erasure-${fingerprintSubject('int-intake')}`);
    expect(JSON.parse(described.input ?? '{}')).toMatchObject({ request: { subjectFingerprint: fingerprintSubject('int-intake'), eventId: 'int-intake-1' } });
  });

  it('answers a redelivery of the same closure with the running execution', async () => {
    // A subject with a key: its erasure runs (it waits for the deletion date) rather than failing at once.
    await createSubjectKey(kms, 'int-redelivery');
    const event = { ...sampleClosure('int-redelivery'), id: 'int-redelivery-1' };
    const first = (await invoke('intake', event)) as { outcome: string; executionArn: string };
    expect(first.outcome).toBe('started');
    const second = (await invoke('intake', { ...event, id: 'int-redelivery-2' })) as { outcome: string; executionArn: string };
    expect(second).toMatchObject({ outcome: 'already-in-progress', executionArn: first.executionArn });
  });

  it('refuses a malformed event by name, into the dead-letter queue, rather than failing to be retried', async () => {
    await expect(invoke('intake', { ...sampleClosure('int-bad', { closedAt: 'tomorrow' }), id: 'int-bad-event' })).resolves.toMatchObject({
      outcome: 'rejected',
      eventId: 'int-bad-event',
      reason: expect.stringContaining('detail.closedAt'),
      deadLettered: true,
    });
    expect(aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue')).map((letter) => letter.body.eventId)).toContain('int-bad-event');
  });
});

describe('the key tasks against the embedded KMS', () => {
  it('resolveKeys authorises the subject key and refuses a foreign one', async () => {
    const own = await createSubjectKey(kms, 'int-resolve');
    await expect(invoke('resolveKeys', { execution, request: requestFor('int-resolve') })).resolves.toEqual([
      expect.objectContaining({ keyArn: own.arn, keyState: 'Enabled', origin: 'AWS_KMS' }),
    ]);
    const foreign = await createSubjectKey(kms, 'int-someone-else');
    await expect(invoke('resolveKeys', { execution, request: requestFor('int-resolve', [foreign.keyId]) })).rejects.toMatchObject({ name: 'KeyNotOwnedBySubject' });
  });

  it('eraseKeys disables and schedules the keys an execution hands it through its queue, and answers it; checkDeletion proves the deletion', async () => {
    const own = await createSubjectKey(kms, 'int-lifecycle');
    const request = requestFor('int-lifecycle');
    const sfn = new SFNClient(aws.clientConfig);
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: aws.arnOf('ErasureStateMachine'), name: 'erasure-int-lifecycle', input: JSON.stringify({ request }) }),
    );

    const erased = (await stateOutput(sfn, executionArn ?? '', 'EraseKeysAtQuotaPace')).erased as { keys: { deletionDate: string }[]; firstCheckAt: string };
    expect(await keyState(own.keyId)).toBe('PendingDeletion');
    expect(erased.keys).toEqual([expect.objectContaining({ keyArn: own.arn, keyState: 'PendingDeletion', pendingWindowDays: 30, alreadyScheduled: false })]);
    const deletionDate = Date.parse(erased.keys[0]?.deletionDate ?? '');
    expect(deletionDate - aws.clock.now().getTime()).toBeGreaterThan(29.9 * DAY);
    expect(erased.firstCheckAt).toBe(wholeSecondsAfter(deletionDate));

    const pending = (await invoke('checkDeletion', { execution, request, keys: erased.keys })) as { status: string; nextCheckAt: string };
    expect(pending.status).toBe('Pending');
    expect(Date.parse(pending.nextCheckAt)).toBeGreaterThanOrEqual(deletionDate);

    aws.clock.advance(31 * DAY);
    await expect(invoke('checkDeletion', { execution, request, keys: erased.keys })).resolves.toMatchObject({ status: 'Deleted' });
    expect(await keyState(own.keyId)).toBe('NotFoundException');
    // The execution, woken by the same 31 days, finds the key deleted too.
    expect(await endOf(sfn, executionArn ?? '')).toBe('SUCCEEDED');
  });

  it('eraseKeys touches no key for a task token no execution waits on', async () => {
    const own = await createSubjectKey(kms, 'int-not-waiting');
    const [key] = (await invoke('resolveKeys', { execution, request: requestFor('int-not-waiting') })) as Record<string, unknown>[];
    const body = JSON.stringify({ taskToken: 'a-token-nobody-waits-on', execution, request: requestFor('int-not-waiting'), keys: [key] });
    const message = { messageId: 'm-1', receiptHandle: 'r-1', body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSource: 'aws:sqs', eventSourceARN: aws.arnOf('KeyErasureQueue') };

    await expect(invoke('eraseKeys', { Records: [message] })).resolves.toEqual({ batchItemFailures: [] });
    expect(await keyState(own.keyId)).toBe('Enabled');
  });
});

async function endOf(sfn: SFNClient, executionArn: string): Promise<string> {
  const started = Date.now();
  for (;;) {
    const { status = 'RUNNING' } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (status !== 'RUNNING' || Date.now() - started > 20_000) return status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The output of a state once the execution has left it, read from the execution's history. */
async function stateOutput(sfn: SFNClient, executionArn: string, stateName: string): Promise<Record<string, unknown>> {
  const started = Date.now();
  for (;;) {
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const exited = events.find((event) => event.stateExitedEventDetails?.name === stateName);
    if (exited) return JSON.parse(exited.stateExitedEventDetails?.output ?? '{}');
    const failed = events.find((event) => event.type === 'ExecutionFailed');
    if (failed) throw new Error(`the execution failed: ${JSON.stringify(failed.executionFailedEventDetails)}`);
    if (Date.now() - started > 20_000) throw new Error(`the execution never left ${stateName}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('one embedded AWS per process', () => {
  it('refuses to start a second while one runs, since the handlers would share it', async () => {
    await expect(startEmbeddedAws({ log: () => undefined })).rejects.toThrow('an embedded AWS is already running in this process');
  });
});

describe('notify against the embedded SNS', () => {
  it('publishes a failure to the erasure topic and to on-call', async () => {
    const request = requestFor('int-notify');
    const failure = { Error: 'KeyNotOwnedBySubject', Cause: JSON.stringify({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'not theirs' }) };
    await invoke('notify', { kind: 'failed', execution, request, failure });
    const onCall = aws.sns.published(aws.arnOf('OnCallAlertsTopic')).filter((message) => message.messageAttributes.subject?.StringValue === request.subjectFingerprint);
    const erasure = aws.sns.published(aws.arnOf('ErasureNotificationsTopic')).filter((message) => message.messageAttributes.subject?.StringValue === request.subjectFingerprint);
    expect(onCall).toHaveLength(1);
    expect(erasure).toHaveLength(1);
    expect(JSON.parse(onCall[0]?.message ?? '{}')).toMatchObject({ eventType: 'failed', severity: 'critical', error: 'KeyNotOwnedBySubject', message: 'not theirs' });
  });
});
