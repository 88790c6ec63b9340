import * as z from '../runtime/zod.ts';
import type { AlertStateTable } from '../aws/alert-state-table.ts';
import type { KmsKeys } from '../aws/kms-keys.ts';
import type { NotificationPublisher } from '../aws/notification-publisher.ts';
import { NOTIFICATION_SCHEMA_VERSION } from '../erasure/notifications.ts';
import type { NotificationConfig } from '../erasure/settings.ts';
import { fingerprintSubject, stageOption } from '../erasure/subject.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { runningErasure } from '../ledger/subject-record.ts';

/**
 * CloudTrail's record of a KMS call that was refused, as EventBridge delivers it (`AWS API Call
 * via CloudTrail`, source aws.kms). A key pending deletion refuses every cryptographic use with
 * KMSInvalidStateException or DisabledException, "<key ARN> is pending deletion." (docs/aws-facts.md).
 * Only what the alert needs is read; `requestParameters` may hold an encryption context that names
 * the subject, so nothing of it but the key id is ever passed on.
 */
export const RefusedKmsCall = z.object({
  eventName: z.string(),
  eventTime: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  errorMessage: z.optional(z.string()),
  awsRegion: z.optional(z.string()),
  sourceIPAddress: z.optional(z.string()),
  userAgent: z.optional(z.string()),
  userIdentity: z.optional(
    z.object({
      type: z.optional(z.string()),
      arn: z.optional(z.string()),
      accountId: z.optional(z.string()),
      accessKeyId: z.optional(z.string()),
      invokedBy: z.optional(z.string()),
    }),
  ),
  requestParameters: z.optional(z.nullable(z.looseObject({ keyId: z.optional(z.string()) }))),
  resources: z.optional(z.array(z.object({ ARN: z.optional(z.string()), type: z.optional(z.string()) }))),
});
export type RefusedKmsCall = z.infer<typeof RefusedKmsCall>;

export interface KeyUseAlertContext {
  kms: Pick<KmsKeys, 'describeKey' | 'tagValue'>;
  ledger: Ledger;
  alertState: AlertStateTable;
  publisher: NotificationPublisher;
  config: NotificationConfig & { subjectTagKey: string; alertWindowMinutes: number; escalationContact: string; stage: string };
  now: Date;
}

export type KeyUseOutcome =
  | { outcome: 'not-pending-deletion'; keyArn: string | null }
  | { outcome: 'folded'; keyArn: string }
  | { outcome: 'alerted'; keyArn: string; subject: string | null; messageId: string; usesSinceLastAlert: number };

const PENDING_DELETION = /is pending (replica )?deletion/i;

/**
 * Raises the on-call alert for a use of a key pending deletion: something still reads data whose
 * key will be destroyed, while the deletion can still be cancelled. A merely disabled key is not
 * this alert's business. Uses of one key fold into one alert per window; the next alert carries
 * how many uses the last one stood for.
 */
export async function alertOnKeyUse(call: RefusedKmsCall, eventId: string, context: KeyUseAlertContext): Promise<KeyUseOutcome> {
  const named = call.resources?.find((resource) => resource.type === 'AWS::KMS::Key' && resource.ARN)?.ARN ?? call.requestParameters?.keyId ?? null;
  const key = named ? await context.kms.describeKey(named) : undefined;
  const keyArn = key?.keyArn ?? named;
  const pendingByMessage = PENDING_DELETION.test(call.errorMessage ?? '');
  const pendingByState = key?.keyState === 'PendingDeletion' || key?.keyState === 'PendingReplicaDeletion';
  if (!keyArn || !(pendingByMessage || pendingByState)) return { outcome: 'not-pending-deletion', keyArn };

  const windowMs = context.config.alertWindowMinutes * 60_000;
  const fold = await context.alertState.countUse(keyArn, context.now, windowMs);
  if (fold.outcome === 'folded') return { outcome: 'folded', keyArn };

  // Whose key: the subject tag (its value is personal data: only its fingerprint travels on),
  // else the ledger's index of the keys its erasures named.
  const tagged = key ? await context.kms.tagValue(keyArn, context.config.subjectTagKey) : undefined;
  const subject = tagged ? fingerprintSubject(tagged) : ((await context.ledger.subjectsOfKey(keyArn))[0] ?? null);
  const record = subject ? await context.ledger.read(subject) : undefined;
  const erasure = record ? (runningErasure(record) ?? record.erasures.at(-1) ?? null) : null;

  const deletionDate = key?.deletionDate?.toISOString() ?? null;
  const msLeft = key?.deletionDate ? key.deletionDate.getTime() - context.now.getTime() : null;
  const timeLeft = msLeft === null ? 'unknown' : msLeft <= 0 ? 'due now (KMS may take up to 24 hours)' : describeDuration(msLeft);
  const caller = {
    principal: call.userIdentity?.arn ?? call.userIdentity?.accessKeyId ?? 'unknown',
    principalType: call.userIdentity?.type ?? null,
    account: call.userIdentity?.accountId ?? null,
    invokedBy: call.userIdentity?.invokedBy ?? null,
    sourceIp: call.sourceIPAddress ?? null,
    userAgent: call.userAgent ?? null,
  };
  const { stage, escalationContact } = context.config;
  const runbook = [
    `${caller.principal} called ${call.eventName} on ${keyArn}, which KMS will destroy on ${deletionDate ?? 'its deletion date'} (${timeLeft} left). KMS refused it: whatever it protects is already unreadable to that caller.`,
    subject
      ? `If the use is legitimate (the data must be kept): npx erasure cancel --fingerprint ${subject} --reason "<why>"${stageOption(stage)} before ${deletionDate ?? 'the deletion date'}. Cancelling leaves the key Disabled; add --enable to re-enable it. For a legal matter, npx erasure hold instead.`
      : `The key carries no subject tag and no erasure in the ledger named it: find out who scheduled its deletion (CloudTrail ScheduleKeyDeletion) before ${deletionDate ?? 'the deletion date'}; aws kms cancel-key-deletion --key-id ${keyArn} stops it.`,
    `If it is not legitimate (an attacker, a service that should no longer hold this data): the deletion proceeds; ask ${escalationContact} to find and stop ${caller.principal}${caller.sourceIp ? ` (from ${caller.sourceIp})` : ''}.`,
    ...(fold.usesSinceLastAlert > 1 ? [`The last alert for this key stood for ${fold.usesSinceLastAlert} uses in its ${context.config.alertWindowMinutes}-minute window.`] : []),
    `Further uses of this key are folded into one alert per ${context.config.alertWindowMinutes} minutes.`,
  ];

  const message = {
    schemaVersion: NOTIFICATION_SCHEMA_VERSION,
    eventType: 'key-used-while-pending-deletion',
    severity: 'critical',
    erasure: erasure?.erasure ?? null,
    subject,
    at: context.now.toISOString(),
    keyArn,
    deletionDate,
    timeLeft,
    operation: call.eventName,
    errorCode: call.errorCode ?? null,
    usedAt: call.eventTime ?? null,
    region: call.awsRegion ?? null,
    caller,
    cloudTrailEventId: eventId,
    usesSinceLastAlert: fold.usesSinceLastAlert,
    erasureStatus: erasure?.status ?? null,
    runbook,
  };
  const messageId = await context.publisher.publish({
    kind: 'key-used-while-pending-deletion',
    topicArn: context.config.oncallTopicArn,
    subject: `KEY PENDING DELETION USED: ${call.eventName} by ${shortPrincipal(caller.principal)}, ${timeLeft} left`.slice(0, 100),
    message: JSON.stringify(message),
    attributes: {
      eventType: 'key-used-while-pending-deletion',
      severity: 'critical',
      schemaVersion: NOTIFICATION_SCHEMA_VERSION,
      ...(subject ? { subject } : {}),
    },
  });
  if (subject && erasure) {
    await context.ledger.record(subject, erasure.erasure, {
      type: 'KeyUseAlerted',
      keyArn,
      operation: call.eventName,
      principal: caller.principal,
      cloudTrailEventId: eventId,
      usesSinceLastAlert: fold.usesSinceLastAlert,
      messageId,
    });
  }
  return { outcome: 'alerted', keyArn, subject, messageId, usesSinceLastAlert: fold.usesSinceLastAlert };
}

function describeDuration(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  if (hours >= 48) return `${Math.round(ms / 86_400_000)} days`;
  if (hours >= 1) return `${hours} hours`;
  return `${Math.max(1, Math.floor(ms / 60_000))} minutes`;
}

/** `arn:aws:sts::111122223333:assumed-role/billing-service/i-0abc` → `assumed-role/billing-service/i-0abc`. */
function shortPrincipal(principal: string): string {
  return principal.split(':').at(-1) ?? principal;
}
