import type { KmsKeys } from '../aws/kms-keys.ts';
import type { NotificationPublisher } from '../aws/notification-publisher.ts';
import { NOTIFICATION_SCHEMA_VERSION } from '../erasure/notifications.ts';
import type { NotificationConfig } from '../erasure/settings.ts';
import { fingerprintSubject } from '../erasure/subject.ts';
import type { Ledger } from '../ledger/ledger.ts';

const LISTED = 100;

export interface PendingKey {
  keyArn: string;
  keyState: string;
  deletionDate: string | null;
}

export interface KeyAudit {
  auditedAt: string;
  keysExamined: number;
  /** Keys pending deletion that an erasure in the ledger scheduled: Security Hub's KMS.3 may be suppressed for these. */
  ours: (PendingKey & { subject: string; erasure: string })[];
  /** Keys pending deletion that no erasure scheduled: someone else's decision, or a mistake, still cancellable. */
  strays: (PendingKey & { taggedSubject: string | null })[];
  /**
   * Subjects whose alias points at a key that does not carry their tag: an erasure of that subject
   * would refuse it (KeyNotOwnedBySubject), and the alias may lead to another subject's key.
   * Named by fingerprints: the alias itself holds the subject id.
   */
  aliasTagMismatches: { aliasSubject: string; keyArn: string; taggedSubject: string | null }[];
  messageId: string | null;
}

export interface KeyAuditContext {
  kms: Pick<KmsKeys, 'listKeyArns' | 'listAliases' | 'describeKey' | 'tagValue'>;
  ledger: Ledger;
  publisher: NotificationPublisher;
  config: NotificationConfig & { subjectTagKey: string; aliasPrefix: string; stage: string };
  now: Date;
}

/**
 * The daily audit: every customer managed key pending deletion, told apart into the pipeline's own
 * (AWS Security Hub's KMS.3 flags them all: these may be suppressed) and strays that no erasure
 * scheduled, and every subject alias whose key does not carry the subject's tag. On-call hears of
 * it only when there is something to act on.
 */
export async function auditKeys(context: KeyAuditContext): Promise<KeyAudit> {
  const { kms, ledger, config } = context;
  const audit: KeyAudit = { auditedAt: context.now.toISOString(), keysExamined: 0, ours: [], strays: [], aliasTagMismatches: [], messageId: null };

  for await (const keyArn of kms.listKeyArns()) {
    audit.keysExamined++;
    const key = await kms.describeKey(keyArn);
    if (!key || key.keyManager !== 'CUSTOMER') continue;
    if (key.keyState !== 'PendingDeletion' && key.keyState !== 'PendingReplicaDeletion') continue;
    const pending: PendingKey = { keyArn: key.keyArn, keyState: key.keyState, deletionDate: key.deletionDate?.toISOString() ?? null };
    const scheduledBy = await erasureThatScheduled(ledger, key.keyArn);
    if (scheduledBy) {
      audit.ours.push({ ...pending, ...scheduledBy });
    } else {
      const tag = await kms.tagValue(key.keyArn, config.subjectTagKey);
      audit.strays.push({ ...pending, taggedSubject: tag ? fingerprintSubject(tag) : null });
    }
  }

  const prefix = `${config.aliasPrefix}/`;
  for await (const alias of kms.listAliases()) {
    if (!alias.aliasName.startsWith(prefix) || !alias.targetKeyId) continue;
    const subjectId = alias.aliasName.slice(prefix.length);
    const key = await kms.describeKey(alias.targetKeyId);
    if (!key) continue;
    const tag = await kms.tagValue(key.keyArn, config.subjectTagKey);
    if (tag !== subjectId) {
      audit.aliasTagMismatches.push({ aliasSubject: fingerprintSubject(subjectId), keyArn: key.keyArn, taggedSubject: tag ? fingerprintSubject(tag) : null });
    }
  }

  if (audit.strays.length > 0 || audit.aliasTagMismatches.length > 0) {
    const severity = audit.strays.length > 0 ? 'critical' : 'warning';
    const runbook = [
      ...(audit.strays.length > 0
        ? [
            `${audit.strays.length} key(s) are pending deletion that no erasure scheduled: find who scheduled each (CloudTrail ScheduleKeyDeletion) before its deletion date; aws kms cancel-key-deletion --key-id <arn> stops a mistaken one.`,
          ]
        : []),
      ...(audit.aliasTagMismatches.length > 0
        ? [
            `${audit.aliasTagMismatches.length} subject alias(es) point at a key without that subject's tag: an erasure of that subject will refuse it (KeyNotOwnedBySubject). Repoint the alias, or tag the key if it really is the subject's.`,
          ]
        : []),
      `The pipeline's own ${audit.ours.length} pending key(s) are listed under "ours": AWS Security Hub's KMS.3 findings for them may be suppressed.`,
    ];
    audit.messageId = await context.publisher.publish({
      kind: 'key-audit',
      topicArn: config.oncallTopicArn,
      subject: `KEY AUDIT (${config.stage}): ${audit.strays.length} stray pending deletion, ${audit.aliasTagMismatches.length} alias/tag mismatch`.slice(0, 100),
      message: JSON.stringify({
        schemaVersion: NOTIFICATION_SCHEMA_VERSION,
        eventType: 'key-audit',
        severity,
        erasure: null,
        subject: null,
        at: audit.auditedAt,
        keysExamined: audit.keysExamined,
        // SNS takes 256 KB a message: long lists are cut, their totals kept.
        totals: { ours: audit.ours.length, strays: audit.strays.length, aliasTagMismatches: audit.aliasTagMismatches.length },
        ours: audit.ours.slice(0, LISTED),
        strays: audit.strays.slice(0, LISTED),
        aliasTagMismatches: audit.aliasTagMismatches.slice(0, LISTED),
        runbook,
      }),
      attributes: { eventType: 'key-audit', severity, schemaVersion: NOTIFICATION_SCHEMA_VERSION },
    });
  }
  return audit;
}

/** The erasure whose ledger shows this key's deletion scheduled, if any. */
async function erasureThatScheduled(ledger: Ledger, keyArn: string): Promise<{ subject: string; erasure: string } | undefined> {
  for (const subject of await ledger.subjectsOfKey(keyArn)) {
    const record = await ledger.read(subject);
    const scheduled = record.entries.findLast((entry) => entry.event.type === 'KeyDeletionScheduled' && entry.event.keyArn === keyArn);
    if (scheduled?.erasure) return { subject, erasure: scheduled.erasure };
  }
  return undefined;
}
