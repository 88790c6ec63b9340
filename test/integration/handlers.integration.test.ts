import { KMSClient } from '@aws-sdk/client-kms';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
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

  it('disableKey, scheduleDeletion and checkDeletion carry a key to its deletion', async () => {
    const own = await createSubjectKey(kms, 'int-lifecycle');
    const [key] = (await invoke('resolveKeys', { execution, request: requestFor('int-lifecycle') })) as Record<string, unknown>[];
    const request = requestFor('int-lifecycle');

    await expect(invoke('disableKey', { execution, request, key })).resolves.toMatchObject({ outcome: 'disabled' });
    expect(await keyState(own.keyId)).toBe('Disabled');

    const scheduled = (await invoke('scheduleDeletion', { execution, request, key })) as { deletionDate: string; pendingWindowDays: number };
    expect(scheduled.pendingWindowDays).toBe(30);
    expect(Date.parse(scheduled.deletionDate) - aws.clock.now().getTime()).toBeGreaterThan(29.9 * DAY);
    await expect(invoke('scheduleDeletion', { execution, request, key })).resolves.toMatchObject({ alreadyScheduled: true, deletionDate: scheduled.deletionDate });
    await expect(invoke('disableKey', { execution, request, key })).resolves.toMatchObject({ outcome: 'already-pending-deletion' });

    const pending = (await invoke('checkDeletion', { execution, request, keys: [scheduled] })) as { status: string; nextCheckAt: string };
    expect(pending.status).toBe('Pending');
    expect(Date.parse(pending.nextCheckAt)).toBeGreaterThanOrEqual(Date.parse(scheduled.deletionDate));

    aws.clock.advance(31 * DAY);
    await expect(invoke('checkDeletion', { execution, request, keys: [scheduled] })).resolves.toMatchObject({ status: 'Deleted' });
    expect(await keyState(own.keyId)).toBe('NotFoundException');
  });
});

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
