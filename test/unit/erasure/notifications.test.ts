import { describe, expect, it } from 'vitest';
import type { SignedCertificate } from '../../../functions/lib/erasure/certificate.ts';
import type { ErasureRequest } from '../../../functions/lib/erasure/closure-event.ts';
import type { ScheduledKey } from '../../../functions/lib/erasure/deletion-scheduling.ts';
import { composeNotifications, describeFailure, type NotificationFacts } from '../../../functions/lib/erasure/notifications.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { schemaErrors } from '../../support/notification-schema.ts';
import { ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, notificationConfig } from '../../support/settings.ts';

const request: ErasureRequest = {
  subjectId: 'user-4821',
  subjectFingerprint: fingerprintSubject('user-4821'),
  eventId: 'event-1',
  source: 'com.example.accounts',
  closedAt: '2026-11-20T09:29:41Z',
  reason: 'customer-request',
  keyIds: [],
};
const execution = 'arn:aws:states:eu-west-1:111122223333:execution:crypto-erasure-test:erasure-abc';
const key: ScheduledKey = {
  keyId: 'k-1',
  keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k-1',
  keyState: 'PendingDeletion',
  deletionDate: '2026-11-27T09:30:00Z',
  pendingWindowDays: 7,
  alreadyScheduled: false,
};
const NOW = new Date('2026-11-28T10:00:00Z');
const verification = {
  status: 'Deleted' as const,
  checkedAt: NOW.toISOString(),
  nextCheckAt: null,
  recheckInSeconds: null,
  keys: [{ keyArn: key.keyArn, fate: 'Deleted' as const, keyState: null, deletionDate: key.deletionDate }],
};
const certificate = {
  certificate: {
    certificateVersion: 2,
    certificateId: `cert-${'0'.repeat(32)}`,
    issuedAt: NOW.toISOString(),
    erasure: execution,
    subject: request.subjectFingerprint,
    closure: { eventId: 'event-1', source: 'com.example.accounts', closedAt: request.closedAt, receivedAt: request.closedAt },
    sanitized: {
      media: 'AWS KMS customer managed keys',
      keys: [{ keyArn: key.keyArn, keyId: 'k-1', region: 'eu-west-1', accountId: '111122223333', origin: 'AWS_KMS', multiRegion: false, multiRegionKeyType: null, disabledAt: null, keyMaterialDeletedAt: null, disableOutcome: null, scheduledAt: null, deletionDate: key.deletionDate, verifiedDeletedAt: NOW.toISOString() }],
    },
    method: { category: 'Purge', technique: 'Cryptographic Erase', standard: 'NIST SP 800-88 Rev. 2', description: '' },
    tool: { name: 'crypto-erasure', version: '0.0.0-test' },
    verification: { method: 'DescribeKey', result: 'Passed', verifiedAt: NOW.toISOString() },
    dates: { requestedAt: request.closedAt, disabledAt: null, scheduledAt: null, deletionDate: key.deletionDate, verifiedDeletedAt: NOW.toISOString(), completedAt: NOW.toISOString() },
    performedBy: 'arn:aws:iam::111122223333:role/eraser',
    verifiedBy: 'arn:aws:iam::111122223333:role/eraser',
    postSanitizationState: 'destroyed',
    ledger: { subject: request.subjectFingerprint, chainHead: { sequence: 7, hash: 'a'.repeat(64) } },
  },
  signature: { algorithm: 'ECDSA_SHA_256', canonicalization: 'RFC 8785 (JSON Canonicalization Scheme)', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/s', value: 'MEUCIQ==' },
} satisfies SignedCertificate;

const everyKind: NotificationFacts[] = [
  { kind: 'scheduled', execution, request, keys: [key] },
  { kind: 'completed', execution, request, verification, certificate },
  { kind: 'cancelled', execution, request, keys: [{ ...verification.keys[0]!, fate: 'DeletionCancelled', keyState: 'Disabled' }], cancelledBy: 'ops@example.com', reason: 'mistaken closure' },
  { kind: 'held', execution: null, request, because: 'LegalHold', heldBy: 'legal@example.com', reason: 'litigation 2026-17', until: null, previousErasure: null },
  { kind: 'failed', execution, request, failure: { Error: 'KeyNotOwnedBySubject', Cause: '{"errorMessage":"not theirs"}' } },
  { kind: 'stopped', execution, request, status: 'ABORTED', error: null, cause: null, keys: [{ keyArn: key.keyArn, keyState: 'PendingDeletion', deletionDate: key.deletionDate }], runbook: ['cancel or resume'] },
];

describe('composeNotifications', () => {
  it('writes every kind in the shape of the published JSON Schema (version 1)', () => {
    for (const facts of everyKind) {
      for (const notification of composeNotifications(facts, notificationConfig, NOW)) {
        expect(schemaErrors(JSON.parse(notification.message)), facts.kind).toEqual([]);
      }
    }
  });

  it('tells subscribers what to filter on: eventType, severity and schemaVersion attributes', () => {
    const severities = everyKind.map((facts) => composeNotifications(facts, notificationConfig, NOW)[0]?.attributes);
    expect(severities).toEqual([
      { eventType: 'scheduled', severity: 'info', schemaVersion: '1', subject: request.subjectFingerprint },
      { eventType: 'completed', severity: 'info', schemaVersion: '1', subject: request.subjectFingerprint },
      { eventType: 'cancelled', severity: 'warning', schemaVersion: '1', subject: request.subjectFingerprint },
      { eventType: 'held', severity: 'warning', schemaVersion: '1', subject: request.subjectFingerprint },
      { eventType: 'failed', severity: 'critical', schemaVersion: '1', subject: request.subjectFingerprint },
      { eventType: 'stopped', severity: 'critical', schemaVersion: '1', subject: request.subjectFingerprint },
    ]);
  });

  it('tells on-call only what needs a person: held, failed, stopped', () => {
    const routes = everyKind.map((facts) => composeNotifications(facts, notificationConfig, NOW).map((notification) => notification.topicArn));
    expect(routes).toEqual([
      [ERASURE_TOPIC_ARN],
      [ERASURE_TOPIC_ARN],
      [ERASURE_TOPIC_ARN],
      [ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN],
      [ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN],
      [ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN],
    ]);
  });

  it('fails the schema when a required field is missing', () => {
    const [notification] = composeNotifications(everyKind[1]!, notificationConfig, NOW);
    const { certificateId: _dropped, ...withoutId } = JSON.parse(notification!.message);
    expect(schemaErrors(withoutId)).toContain("(message) must have required property 'certificateId'");
  });

  it('never carries the subject id in any notification', () => {
    const all = everyKind.flatMap((facts) => composeNotifications(facts, notificationConfig, NOW));
    expect(all).toHaveLength(9);
    for (const notification of all) expect(JSON.stringify(notification)).not.toContain('user-4821');
  });

  it('puts the error name in front of an on-call failure, within SNS subject length', () => {
    const failure = { Error: 'KeyNotOwnedBySubject', Cause: JSON.stringify({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'key k-1 does not carry the tag' }) };
    const notifications = composeNotifications({ kind: 'failed', execution, request, failure }, notificationConfig, NOW);
    expect(notifications[1]?.subject).toMatch(/^ERASURE FAILED: KeyNotOwnedBySubject/);
    expect(JSON.parse(notifications[1]?.message ?? '')).toMatchObject({ error: 'KeyNotOwnedBySubject', message: 'key k-1 does not carry the tag' });
    for (const facts of everyKind) for (const notification of composeNotifications(facts, notificationConfig, NOW)) expect(notification.subject.length).toBeLessThanOrEqual(100);
  });

  it('announces the latest deletion date of a scheduled erasure', () => {
    const later = { ...key, keyArn: `${key.keyArn}-2`, deletionDate: '2026-12-01T00:00:00Z' };
    const [notification] = composeNotifications({ kind: 'scheduled', execution, request, keys: [key, later] }, notificationConfig, NOW);
    expect(JSON.parse(notification!.message)).toMatchObject({ deletionDate: '2026-12-01T00:00:00Z' });
  });
});

describe('describeFailure', () => {
  it("reads Lambda's JSON Cause", () => {
    expect(describeFailure({ Error: 'X', Cause: '{"errorType":"X","errorMessage":"why"}' })).toEqual({ error: 'X', message: 'why' });
  });
  it('keeps a plain Cause as it is', () => {
    expect(describeFailure({ Error: 'States.Timeout', Cause: 'task timed out' })).toEqual({ error: 'States.Timeout', message: 'task timed out' });
  });
  it('gives an empty message for a failure without a Cause', () => {
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: null })).toEqual({ error: 'States.TaskFailed', message: '' });
  });
});

describe('what each notification says', () => {
  const short = request.subjectFingerprint.slice(0, 12);
  const compose = (facts: NotificationFacts) => composeNotifications(facts, notificationConfig, NOW);
  const attributes = (eventType: string, severity: string) => ({ eventType, severity, schemaVersion: '1', subject: request.subjectFingerprint });

  it('names the subject by the first 12 characters of its fingerprint in every subject line', () => {
    expect(everyKind.flatMap((facts) => compose(facts).map((notification) => notification.subject))).toEqual([
      `Erasure scheduled for subject ${short}`,
      `Erasure completed for subject ${short}`,
      `Erasure cancelled for subject ${short}`,
      `Erasure held for subject ${short}`,
      `ERASURE HELD: closure of subject ${short} not acted on (under legal hold)`,
      `Erasure failed for subject ${short}`,
      `ERASURE FAILED: KeyNotOwnedBySubject (subject ${short})`,
      `Erasure aborted for subject ${short}`,
      `ERASURE ABORTED: execution ended outside the pipeline (subject ${short})`,
    ]);
  });

  it('tells on-call that a closure awaits an operator release', () => {
    const facts: NotificationFacts = { kind: 'held', execution: null, request, because: 'AwaitingRelease', heldBy: 'ops@example.com', reason: 'erased before', until: null, previousErasure: execution };
    const [, oncall] = compose(facts);
    expect(oncall?.subject).toBe(`ERASURE HELD: closure of subject ${short} not acted on (awaiting an operator release)`);
    expect(JSON.parse(oncall?.message ?? '')).toMatchObject({ because: 'AwaitingRelease', previousErasure: execution });
  });

  it('names a timed-out execution in words, and gives on-call its status to filter on', () => {
    const facts: NotificationFacts = { kind: 'stopped', execution, request, status: 'TIMED_OUT', error: 'States.Timeout', cause: null, keys: [], runbook: [] };
    const [notification, oncall] = compose(facts);
    expect(notification?.subject).toBe(`Erasure timed out for subject ${short}`);
    expect(oncall).toMatchObject({ topicArn: ONCALL_TOPIC_ARN, subject: `ERASURE TIMED OUT: execution ended outside the pipeline (subject ${short})`, attributes: { ...attributes('stopped', 'critical'), error: 'TIMED_OUT' } });
  });

  it("gives on-call a failure's error name as an attribute, besides the erasure topic's", () => {
    const [notification, oncall] = compose(everyKind[4]!);
    expect(notification?.attributes).toEqual(attributes('failed', 'critical'));
    expect(oncall?.attributes).toEqual({ ...attributes('failed', 'critical'), error: 'KeyNotOwnedBySubject' });
  });

  it("cuts on-call's subject at SNS's 100 characters, keeping the erasure topic's whole", () => {
    const error = `Custom.${'VeryLongErrorName'.repeat(8)}`;
    const [notification, oncall] = compose({ kind: 'failed', execution, request, failure: { Error: error, Cause: null } });
    expect(oncall?.subject).toBe(`ERASURE FAILED: ${error} (subject ${short})`.slice(0, 100));
    expect(oncall?.subject).toHaveLength(100);
    expect(notification?.subject).toBe(`Erasure failed for subject ${short}`);
    expect(JSON.parse(oncall?.message ?? '')).toMatchObject({ error, message: '' });
  });

  it('pages on-call, as critical, for a deletion cancelled outside the pipeline, counting the keys kept', () => {
    const kept = { ...verification.keys[0]!, fate: 'DeletionCancelled' as const, keyState: 'Disabled' };
    const gone = { ...verification.keys[0]!, keyArn: `${key.keyArn}-2` };
    const facts: NotificationFacts = { kind: 'cancelled', execution, request, keys: [kept, gone, { ...kept, keyArn: `${key.keyArn}-3` }], cancelledBy: 'unknown', reason: 'found by the check', unexplained: true };

    const [notification, oncall] = compose(facts);

    expect(notification).toMatchObject({ topicArn: ERASURE_TOPIC_ARN, subject: `Erasure cancelled for subject ${short}`, attributes: attributes('cancelled', 'critical') });
    expect(oncall).toMatchObject({
      topicArn: ONCALL_TOPIC_ARN,
      subject: `ERASURE CANCELLED OUTSIDE THE PIPELINE: 2 keys kept (subject ${short})`,
      attributes: { ...attributes('cancelled', 'critical'), error: 'DeletionCancelled' },
    });
    expect(JSON.parse(oncall?.message ?? '')).toMatchObject({ severity: 'critical', cancelledBy: 'unknown', reason: 'found by the check' });
  });

  it('says "1 key kept" when one deletion was cancelled outside the pipeline', () => {
    const facts = { ...everyKind[2]!, unexplained: true } as NotificationFacts;
    expect(compose(facts)[1]?.subject).toBe(`ERASURE CANCELLED OUTSIDE THE PIPELINE: 1 key kept (subject ${short})`);
  });

  it('announces the latest of several deletion dates, whatever their order, skipping a primary with none', () => {
    const dated = (deletionDate: string | null, n: number): ScheduledKey => ({ ...key, keyArn: `${key.keyArn}-${n}`, deletionDate });
    const keys = [dated('2026-12-01T00:00:00Z', 1), dated('2026-11-29T00:00:00Z', 2), dated('2026-11-30T00:00:00Z', 3), dated(null, 4)];
    const [notification] = compose({ kind: 'scheduled', execution, request, keys });
    expect(JSON.parse(notification!.message)).toMatchObject({ deletionDate: '2026-12-01T00:00:00Z' });
  });

  it('announces no deletion date when no key has one yet', () => {
    const [notification] = compose({ kind: 'scheduled', execution, request, keys: [{ ...key, deletionDate: null }] });
    expect(JSON.parse(notification!.message)).toMatchObject({ deletionDate: null });
  });
});
