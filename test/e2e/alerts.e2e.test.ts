import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, publishClosure, sampleClosure, waitFor } from '../support/embedded.ts';
import { schemaErrors } from '../support/notification-schema.ts';

/**
 * On-call's side of the pipeline, end to end on the embedded AWS: the same rules as in
 * serverless.yml fire on the same events. The clock runs at real speed and is moved on by the tests.
 */
const MINUTE = 60_000;
let aws: EmbeddedAws;
let kms: KMSClient;

beforeAll(async () => {
  aws = await startEmbeddedAws({ timeScale: 1, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  kms = new KMSClient(aws.clientConfig);
}, 60_000);
afterAll(async () => aws?.close());

const onCall = (eventType: string) =>
  aws.sns
    .published(aws.arnOf('OnCallAlertsTopic'))
    .filter((message) => message.messageAttributes.eventType?.StringValue === eventType)
    .map((message) => ({ subject: message.subject, body: JSON.parse(message.message) as Record<string, any> }));

/** A subject's key, with a record encrypted under it, then scheduled for deletion as an erasure would. */
async function keyPendingDeletion(subjectId: string) {
  const key = await createSubjectKey(kms, subjectId);
  const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from(`${subjectId}'s record`), EncryptionContext: { subject: subjectId } }));
  await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 30 }));
  const decrypt = () => kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { subject: subjectId } })).catch((error: Error) => error);
  return { key, decrypt };
}

const alertsFor = (keyArn: string) => onCall('key-used-while-pending-deletion').filter((alert) => alert.body.keyArn === keyArn);

describe('the alert on use of a key pending deletion', () => {
  it('turns one refused decrypt into exactly one enriched alert', async () => {
    const { key, decrypt } = await keyPendingDeletion('alert-once');
    expect(await decrypt()).toMatchObject({ name: 'KMSInvalidStateException', message: expect.stringContaining('is pending deletion') });
    await aws.idle();

    const alerts = alertsFor(key.arn);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toMatch(/^KEY PENDING DELETION USED: Decrypt by \S+, 30 days left$/);
    expect(alerts[0]?.body).toMatchObject({ subject: fingerprintSubject('alert-once'), operation: 'Decrypt', deletionDate: expect.any(String), severity: 'critical' });
    expect(alerts[0]?.body.runbook.join('\n')).toContain(`npx erasure cancel --fingerprint ${fingerprintSubject('alert-once')}`);
    expect(JSON.stringify(alerts)).not.toContain('alert-once');
    expect(schemaErrors(alerts[0]?.body)).toEqual([]);
  });

  it('folds 1,000 decrypts in a minute from 4 callers into one alert, then tells the count with the next', async () => {
    const { key, decrypt } = await keyPendingDeletion('alert-storm');
    const caller = async () => {
      for (let use = 0; use < 250; use++) await decrypt();
    };
    await Promise.all([caller(), caller(), caller(), caller()]);
    await aws.idle();
    expect(alertsFor(key.arn)).toHaveLength(1);

    aws.clock.advance(15 * MINUTE);
    await decrypt();
    await aws.idle();
    const alerts = alertsFor(key.arn);
    expect(alerts).toHaveLength(2);
    expect(alerts[1]?.body.usesSinceLastAlert).toBe(1000);
  }, 120_000);

  it('raises no pending-deletion alert for a key that is merely disabled', async () => {
    const key = await createSubjectKey(kms, 'alert-disabled');
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: Buffer.from('x') }));
    await kms.send(new DisableKeyCommand({ KeyId: key.keyId }));
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toMatchObject({ name: 'DisabledException' });
    await aws.idle();
    expect(alertsFor(key.arn)).toEqual([]);
  });
});

describe('no closure dropped without a trace', () => {
  const deadLetters = async () => {
    const sqs = new SQSClient(aws.clientConfig);
    const queueUrl = aws.deployment.queues.find((queue) => queue.logicalId === 'ClosureDeadLetterQueue')!.url;
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: ['All'] }));
    return (received.Messages ?? []).map((message) => ({ body: JSON.parse(message.Body ?? '{}') as Record<string, any>, attributes: message.MessageAttributes ?? {} }));
  };

  it.each([
    ['a wrong-case detail-type', { DetailType: 'accountclosed' }, 'detail-type'],
    ['a padded detail-type', { DetailType: ' AccountClosed ' }, 'detail-type'],
    ['a source not on the allowed list', { Source: 'com.example.attacker' }, 'source'],
    ['a malformed detail', { Detail: JSON.stringify({ subjectId: 'dlq-malformed', closedAt: 'soon' }) }, 'detail.closedAt'],
  ])('puts %s in the dead-letter queue, readable over SQS, with the event id and the field at fault', async (_, entry, field) => {
    const eventBridge = new EventBridgeClient(aws.clientConfig);
    const put = await eventBridge.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: aws.nameOf('ClosureEventBus'), Source: 'com.example.accounts', DetailType: 'AccountClosed', Detail: JSON.stringify(sampleClosure('dlq-subject').detail), ...entry }],
      }),
    );
    const eventId = put.Entries?.[0]?.EventId;
    await aws.idle();

    const letter = (await deadLetters()).find((candidate) => candidate.body.eventId === eventId);
    expect(letter?.body).toMatchObject({ error: 'ClosureEventInvalid', reason: expect.stringContaining(field) });
    expect(letter?.attributes.EVENT_ID?.StringValue).toBe(eventId);
    expect(JSON.stringify(letter)).not.toContain('dlq-subject');
  });

  it('dead-letters a failing closure delivered twice once, and pages once', async () => {
    const closure = { ...sampleClosure('dlq-twice'), id: 'delivered-twice', detail: { subjectId: 'dlq-twice', closedAt: 'never' } };
    await aws.lambda.invoke('crypto-erasure-local-intake', closure);
    await aws.lambda.invoke('crypto-erasure-local-intake', closure);
    await aws.idle();
    expect((await deadLetters()).filter((letter) => letter.body.eventId === 'delivered-twice')).toHaveLength(1);
  });

  it('pages on-call through the dead-letter alarm', async () => {
    aws.clock.advance(6 * MINUTE);
    await waitFor(() => aws.sns.published(aws.arnOf('OnCallAlertsTopic')).find((message) => message.subject?.startsWith('ALARM: ')), 'the dead-letter alarm', 20_000);
    const alarms = aws.sns.published(aws.arnOf('OnCallAlertsTopic')).filter((message) => message.subject?.includes('ClosureDeadLetterAlarm'));
    expect(alarms).toHaveLength(1);
    expect(JSON.parse(alarms[0]!.message)).toMatchObject({ NewStateValue: 'ALARM', Trigger: { MetricName: 'ApproximateNumberOfMessagesVisible' } });
  });
});

describe('the daily audit', () => {
  it('reports a key pending deletion that no erasure scheduled, and tells the pipeline\'s own apart', async () => {
    const stray = await kms.send(new CreateKeyCommand({ Description: 'scheduled by hand' }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: stray.KeyMetadata!.KeyId!, PendingWindowInDays: 7 }));
    const ours = await createSubjectKey(kms, 'audit-ours');
    await publishClosure(aws, sampleClosure('audit-ours').detail);
    await waitFor(() => aws.sns.published(aws.arnOf('ErasureNotificationsTopic')).some((message) => message.messageAttributes.subject?.StringValue === fingerprintSubject('audit-ours')), 'the erasure scheduled');
    // A subject alias that points at another subject's key.
    await createSubjectKey(kms, 'audit-victim', { alias: 'alias/erasure/subject/audit-mismatch' });

    aws.clock.advance(24 * 60 * MINUTE);
    await waitFor(() => onCall('key-audit').length > 0, 'the scheduled audit', 20_000);
    const [audit] = onCall('key-audit');
    expect(audit?.body.strays).toEqual(expect.arrayContaining([expect.objectContaining({ keyArn: stray.KeyMetadata!.Arn, keyState: 'PendingDeletion' })]));
    expect(audit?.body.ours).toEqual(expect.arrayContaining([expect.objectContaining({ keyArn: ours.arn, subject: fingerprintSubject('audit-ours') })]));
    expect(audit?.body.aliasTagMismatches).toEqual(
      expect.arrayContaining([expect.objectContaining({ aliasSubject: fingerprintSubject('audit-mismatch'), taggedSubject: fingerprintSubject('audit-victim') })]),
    );
    expect(JSON.stringify(audit)).not.toContain('audit-mismatch');
    expect(schemaErrors(audit?.body)).toEqual([]);
  });
});
