import { KMSClient } from '@aws-sdk/client-kms';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { executionName, fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, notificationsOf, publishClosure, sampleClosure, keyStateOf } from '../support/embedded.ts';

/**
 * The whole path on the embedded AWS, no mocks: an event on the closure bus, the rule, intake, the
 * state machine, the key erasure queue and its worker, KMS, SNS. The virtual clock is discrete:
 * it stands still while anything works and jumps to the next instant something waits for, so the
 * 30-day waiting period of serverless.yml's default settings takes only the handlers' real time.
 */
let aws: EmbeddedAws;
let kms: KMSClient;

beforeAll(async () => {
  aws = await startEmbeddedAws({ environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  kms = new KMSClient(aws.clientConfig);
}, 60_000);
afterAll(async () => aws?.close());

function executionsOf(subjectId: string) {
  const fingerprint = fingerprintSubject(subjectId);
  return aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).filter((execution) => execution.name.startsWith(executionName(fingerprint, 1)));
}

const keyState = (keyId: string) => keyStateOf(kms, keyId);

describe('an AccountClosed event, end to end', () => {
  it("erases the subject's key and publishes scheduled, then completed with a certificate", async () => {
    const key = await createSubjectKey(kms, 'e2e-happy');
    await publishClosure(aws, sampleClosure('e2e-happy').detail);
    await aws.runToCompletion();

    expect(executionsOf('e2e-happy')).toEqual([expect.objectContaining({ status: 'SUCCEEDED' })]);
    expect(await keyState(key.keyId)).toBe('NotFoundException');
    const notifications = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('e2e-happy'));
    expect(notifications.map((notification) => notification.kind)).toEqual(['scheduled', 'completed']);
    expect(notifications[1]?.body.certificate.certificate.sanitized.keys).toEqual([expect.objectContaining({ keyArn: key.arn })]);
  });

  it('disables and schedules the key within seconds of the closure, and asks KMS only once, at the deletion date', async () => {
    await createSubjectKey(kms, 'e2e-timeline');
    await publishClosure(aws, sampleClosure('e2e-timeline').detail);
    await aws.runToCompletion();

    const [execution] = executionsOf('e2e-timeline');
    const { events = [] } = await new SFNClient(aws.clientConfig).send(new GetExecutionHistoryCommand({ executionArn: execution?.executionArn }));
    const started = events.find((event) => event.type === 'ExecutionStarted')?.timestamp?.getTime() ?? 0;
    const erased = events.find((event) => event.stateExitedEventDetails?.name === 'EraseKeysAtQuotaPace');
    const { keys } = JSON.parse(erased?.stateExitedEventDetails?.output ?? '{}').erased as { keys: { deletionDate: string }[] };
    expect((erased?.timestamp?.getTime() ?? Infinity) - started).toBeLessThan(60_000);
    const checks = events.filter((event) => event.stateEnteredEventDetails?.name === 'CheckDeletion');
    expect(checks).toHaveLength(1);
    expect(checks[0]?.timestamp?.getTime()).toBeGreaterThanOrEqual(Date.parse(keys[0]?.deletionDate ?? ''));
  });

  it('starts one erasure for a duplicate delivery', async () => {
    const key = await createSubjectKey(kms, 'e2e-duplicate');
    const detail = sampleClosure('e2e-duplicate').detail;
    await publishClosure(aws, detail);
    await publishClosure(aws, detail);
    await aws.runToCompletion();

    expect(executionsOf('e2e-duplicate')).toHaveLength(1);
    expect(await keyState(key.keyId)).toBe('NotFoundException');
    const kinds = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('e2e-duplicate')).map((notification) => notification.kind);
    expect(kinds).toEqual(['scheduled', 'completed']);
  });

  it("refuses an alias that points at another subject's key: the key untouched, on-call alerted", async () => {
    const victim = await createSubjectKey(kms, 'e2e-victim');
    await createSubjectKey(kms, 'e2e-victim', { alias: 'alias/erasure/subject/e2e-attacker' });
    await publishClosure(aws, sampleClosure('e2e-attacker').detail);
    await aws.runToCompletion();

    expect(executionsOf('e2e-attacker')).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    expect(await keyState(victim.keyId)).toBe('Enabled');
    const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprintSubject('e2e-attacker'));
    expect(alerts).toEqual([expect.objectContaining({ kind: 'failed', body: expect.objectContaining({ error: 'KeyNotOwnedBySubject' }) })]);
  });

  it('refuses an AWS managed key named in the event and touches neither key', async () => {
    const own = await createSubjectKey(kms, 'e2e-managed');
    const managed = aws.kms.createAwsManagedKey(aws.deployment.region, 'alias/aws/s3');
    await publishClosure(aws, sampleClosure('e2e-managed', { keyIds: [managed.keyId] }).detail);
    await aws.runToCompletion();

    expect(executionsOf('e2e-managed')).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    expect(await keyState(own.keyId)).toBe('Enabled');
    expect(await keyState(managed.keyId)).toBe('Enabled');
    const alerts = notificationsOf(aws, 'OnCallAlertsTopic', fingerprintSubject('e2e-managed'));
    expect(alerts.map((alert) => alert.body.error)).toEqual(['KeyNotCustomerManaged']);
  });

  it('puts a malformed event in the dead-letter queue with its error and event id, once, without retrying it', async () => {
    await publishClosure(aws, { subjectId: 'e2e-malformed', closedAt: 'not a date' });
    await aws.runToCompletion();

    const letters = aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue')).filter((candidate) => candidate.body.subject === fingerprintSubject('e2e-malformed'));
    expect(letters).toEqual([expect.objectContaining({ body: expect.objectContaining({ error: 'ClosureEventInvalid', eventId: expect.any(String), reason: expect.stringContaining('detail.closedAt') }) })]);
    // Not retried: no Lambda on-failure record, which only retries exhausted would leave.
    const retried = aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue')).filter((candidate) => JSON.stringify(candidate.body.requestPayload ?? '').includes('e2e-malformed'));
    expect(retried).toEqual([]);
    expect(executionsOf('e2e-malformed')).toEqual([]);
  });

  it('refuses an event from a source that is not allowed into the dead-letter queue, the key untouched', async () => {
    const key = await createSubjectKey(kms, 'e2e-foreign-source');
    await publishClosure(aws, sampleClosure('e2e-foreign-source').detail, 'com.example.attacker');
    await aws.runToCompletion();
    expect(await keyState(key.keyId)).toBe('Enabled');
    expect(executionsOf('e2e-foreign-source')).toEqual([]);
    const letters = aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue')).filter((letter) => letter.body.subject === fingerprintSubject('e2e-foreign-source'));
    expect(letters.map((letter) => letter.body)).toEqual([expect.objectContaining({ error: 'ClosureEventInvalid', reason: 'source: not an allowed closure source' })]);
    expect(JSON.stringify(letters)).not.toContain('com.example.attacker');
  });
});
