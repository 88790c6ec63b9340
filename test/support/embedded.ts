import { readFileSync } from 'node:fs';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';

/** Helpers for tests that run against the embedded AWS through the real SDK clients. */
export async function createSubjectKey(
  kms: KMSClient,
  subjectId: string,
  options: { alias?: string; tagValue?: string; multiRegion?: boolean } = {},
): Promise<{ keyId: string; arn: string }> {
  const created = await kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'erasure:subject', TagValue: options.tagValue ?? subjectId }], MultiRegion: options.multiRegion }));
  const keyId = created.KeyMetadata?.KeyId ?? '';
  await kms.send(new CreateAliasCommand({ AliasName: options.alias ?? `alias/erasure/subject/${subjectId}`, TargetKeyId: keyId }));
  return { keyId, arn: created.KeyMetadata?.Arn ?? '' };
}

/** The key's state as KMS reports it, or the error's name once the key is gone (NotFoundException). */
export async function keyStateOf(kms: KMSClient, keyId: string): Promise<string> {
  return kms.send(new DescribeKeyCommand({ KeyId: keyId })).then(
    (described) => described.KeyMetadata?.KeyState ?? '',
    (error: Error) => error.name,
  );
}

export function sampleClosure(subjectId: string, detail: Record<string, unknown> = {}) {
  const sample = JSON.parse(readFileSync('events/account-closed.json', 'utf8'));
  return { ...sample, detail: { ...sample.detail, subjectId, ...detail } };
}

/** Publishes an AccountClosed event on the closure bus, as an upstream system would. */
export async function publishClosure(aws: EmbeddedAws, detail: Record<string, unknown>, source = 'com.example.accounts'): Promise<void> {
  const eventBridge = new EventBridgeClient(aws.clientConfig);
  const put = await eventBridge.send(
    new PutEventsCommand({ Entries: [{ EventBusName: aws.nameOf('ClosureEventBus'), Source: source, DetailType: 'AccountClosed', Detail: JSON.stringify(detail) }] }),
  );
  if (put.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(put.Entries)}`);
}

export async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function notificationsOf(aws: EmbeddedAws, logicalId: 'ErasureNotificationsTopic' | 'OnCallAlertsTopic', fingerprint: string) {
  return aws.sns
    .published(aws.arnOf(logicalId))
    .filter((message) => message.messageAttributes.subject?.StringValue === fingerprint)
    .map((message) => ({ kind: message.messageAttributes.eventType?.StringValue, subject: message.subject, body: JSON.parse(message.message) as Record<string, any> }));
}
