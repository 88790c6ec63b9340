import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf, type ErasureCertificate } from '../../../functions/lib/erasure/certificate.ts';
import type { ErasureRequest } from '../../../functions/lib/erasure/closure-event.ts';
import type { ScheduledKey } from '../../../functions/lib/erasure/deletion-scheduling.ts';
import { composeNotifications, describeFailure } from '../../../functions/lib/erasure/notifications.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
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
  keys: [{ keyArn: key.keyArn, fate: 'Deleted' as const, keyState: null, deletionDate: key.deletionDate }],
};

describe('composeNotifications', () => {
  it('announces the scheduled erasure with its deletion date to the erasure topic only', () => {
    const [notification, ...rest] = composeNotifications({ kind: 'scheduled', execution, request, keys: [key] }, notificationConfig, NOW);
    expect(rest).toEqual([]);
    expect(notification?.topicArn).toBe(ERASURE_TOPIC_ARN);
    expect(JSON.parse(notification?.message ?? '')).toMatchObject({ kind: 'scheduled', deletionDate: key.deletionDate, subject: request.subjectFingerprint });
    expect(notification?.attributes).toEqual({ kind: 'scheduled', subject: request.subjectFingerprint });
  });

  it('never carries the subject id in any notification', () => {
    const all = [
      ...composeNotifications({ kind: 'scheduled', execution, request, keys: [key] }, notificationConfig, NOW),
      ...composeNotifications({ kind: 'completed', execution, request, keys: [key], verification }, notificationConfig, NOW),
      ...composeNotifications({ kind: 'failed', execution, request, failure: { Error: 'KeyNotOwnedBySubject', Cause: '{}' } }, notificationConfig, NOW),
    ];
    expect(all).toHaveLength(4);
    for (const notification of all) expect(JSON.stringify(notification)).not.toContain('user-4821');
  });

  it('sends a failure to both the erasure topic and on-call, with the error name in front', () => {
    const failure = { Error: 'KeyNotOwnedBySubject', Cause: JSON.stringify({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'key k-1 does not carry the tag' }) };
    const notifications = composeNotifications({ kind: 'failed', execution, request, failure }, notificationConfig, NOW);
    expect(notifications.map((notification) => notification.topicArn)).toEqual([ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN]);
    expect(notifications[1]?.subject).toContain('KeyNotOwnedBySubject');
    expect(JSON.parse(notifications[1]?.message ?? '')).toMatchObject({ error: 'KeyNotOwnedBySubject', message: 'key k-1 does not carry the tag' });
  });

  it('attaches a certificate whose digest covers its contents', () => {
    const [notification] = composeNotifications({ kind: 'completed', execution, request, keys: [key], verification }, notificationConfig, NOW);
    const { certificate } = JSON.parse(notification?.message ?? '') as { certificate: ErasureCertificate };
    const { digest, ...body } = certificate;
    expect(digest.value).toBe(digestOf(body));
    expect(certificate).toMatchObject({
      method: { category: 'Purge', technique: 'Cryptographic Erase' },
      tool: { name: 'crypto-erasure', version: '0.0.0-test' },
      verification: { result: 'Passed', verifiedAt: NOW.toISOString() },
      sanitized: { subject: request.subjectFingerprint, keys: [{ keyArn: key.keyArn, verifiedDeletedAt: NOW.toISOString() }] },
    });
  });

  it('changes the digest when any certified fact changes', () => {
    const [a] = composeNotifications({ kind: 'completed', execution, request, keys: [key], verification }, notificationConfig, NOW);
    const [b] = composeNotifications({ kind: 'completed', execution, request, keys: [{ ...key, keyArn: `${key.keyArn}x` }], verification }, notificationConfig, NOW);
    expect(JSON.parse(a?.message ?? '').certificate.digest.value).not.toBe(JSON.parse(b?.message ?? '').certificate.digest.value);
  });
});

describe('canonicalJson', () => {
  it('orders keys so equal objects serialise alike', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});

describe('describeFailure', () => {
  it("reads Lambda's JSON Cause", () => {
    expect(describeFailure({ Error: 'X', Cause: '{"errorType":"X","errorMessage":"why"}' })).toEqual({ error: 'X', message: 'why' });
  });
  it('keeps a plain Cause as it is', () => {
    expect(describeFailure({ Error: 'States.Timeout', Cause: 'task timed out' })).toEqual({ error: 'States.Timeout', message: 'task timed out' });
  });
});
