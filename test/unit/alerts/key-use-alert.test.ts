import { describe, expect, it } from 'vitest';
import { alertOnKeyUse, type KeyUseAlertContext, type RefusedKmsCall } from '../../../functions/lib/alerts/key-use-alert.ts';
import type { AlertStateTable } from '../../../functions/lib/aws/alert-state-table.ts';
import type { KmsKey } from '../../../functions/lib/aws/kms-keys.ts';
import type { Notification } from '../../../functions/lib/erasure/notifications.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { ONCALL_TOPIC_ARN, notificationConfig } from '../../support/settings.ts';

const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const NOW = new Date('2026-11-28T10:00:00Z');
const refusedDecrypt: RefusedKmsCall = {
  eventName: 'Decrypt',
  eventTime: '2026-11-28T09:59:58Z',
  errorCode: 'KMSInvalidStateException',
  errorMessage: `${keyArn} is pending deletion.`,
  awsRegion: 'eu-west-1',
  sourceIPAddress: '203.0.113.7',
  userAgent: 'aws-sdk-java/2.20',
  userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/billing-service/i-0abc', accountId: '111122223333' },
  requestParameters: { keyId: keyArn, encryptionContext: { subject: 'user-4821' } },
  resources: [{ ARN: keyArn, type: 'AWS::KMS::Key' }],
};

function keyIn(state: string, deletionDate?: Date): KmsKey {
  return { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', keyArn, accountId: '111122223333', keyManager: 'CUSTOMER', keyState: state, origin: 'AWS_KMS', multiRegion: false, deletionDate };
}

/** The alert window, as the table's conditional writes keep it, in memory. */
function alertStateDouble(): AlertStateTable {
  const windows = new Map<string, { endsAt: number; uses: number }>();
  const waits = new Map<string, { taskToken: string; keyArns: string[] }>();
  return {
    async awaitKeyDeletion(erasure, awaited) {
      waits.set(erasure, awaited);
    },
    async awaitedKeyDeletion(erasure) {
      return waits.get(erasure);
    },
    async countUse(id, now, windowMs) {
      const open = windows.get(id);
      if (open && open.endsAt > now.getTime()) {
        open.uses++;
        return { outcome: 'folded' };
      }
      windows.set(id, { endsAt: now.getTime() + windowMs, uses: 1 });
      return { outcome: 'alert', usesSinceLastAlert: open?.uses ?? 0 };
    },
    async firstTime() {
      return true;
    },
  };
}

function context(key: KmsKey | undefined, overrides: Partial<KeyUseAlertContext> = {}) {
  const published: Notification[] = [];
  const ledger = ledgerDouble();
  const value: KeyUseAlertContext = {
    kms: { describeKey: async () => key, tagValue: async () => 'user-4821' },
    ledger,
    alertState: alertStateDouble(),
    publisher: { publish: async (notification) => (published.push(notification), `m-${published.length}`) },
    config: { ...notificationConfig, subjectTagKey: 'erasure:subject', alertWindowMinutes: 15, escalationContact: 'the security on-call', stage: 'prod' },
    now: NOW,
    ...overrides,
  };
  return { value, published, ledger };
}

describe('the alert on use of a key pending deletion', () => {
  it('pages on-call with what a tired person needs: whose key, when it goes, who used it, what to type', async () => {
    const { value, published } = context(keyIn('PendingDeletion', new Date('2026-12-27T10:00:00Z')));
    await expect(alertOnKeyUse(refusedDecrypt, 'ct-1', value)).resolves.toMatchObject({ outcome: 'alerted', subject: fingerprintSubject('user-4821') });
    expect(published).toHaveLength(1);
    const [alert] = published;
    expect(alert?.topicArn).toBe(ONCALL_TOPIC_ARN);
    expect(alert?.subject).toBe('KEY PENDING DELETION USED: Decrypt by assumed-role/billing-service/i-0abc, 29 days left');
    expect(alert?.attributes).toMatchObject({ eventType: 'key-used-while-pending-deletion', severity: 'critical', subject: fingerprintSubject('user-4821') });
    const body = JSON.parse(alert!.message);
    expect(body).toMatchObject({
      keyArn,
      deletionDate: '2026-12-27T10:00:00.000Z',
      timeLeft: '29 days',
      operation: 'Decrypt',
      caller: { principal: 'arn:aws:sts::111122223333:assumed-role/billing-service/i-0abc', account: '111122223333', sourceIp: '203.0.113.7', userAgent: 'aws-sdk-java/2.20' },
    });
    expect(body.runbook.join('\n')).toContain(`npx erasure cancel --fingerprint ${fingerprintSubject('user-4821')} --reason "<why>" --stage prod`);
    expect(body.runbook.join('\n')).toContain('ask the security on-call');
    // The encryption context names the subject: it never reaches on-call.
    expect(alert!.message).not.toContain('user-4821');
  });

  it('stays silent for a key that is merely disabled', async () => {
    const { value, published } = context(keyIn('Disabled'));
    const disabled = { ...refusedDecrypt, errorCode: 'DisabledException', errorMessage: `${keyArn} is disabled.` };
    await expect(alertOnKeyUse(disabled, 'ct-2', value)).resolves.toMatchObject({ outcome: 'not-pending-deletion' });
    expect(published).toEqual([]);
  });

  it('trusts the key state when the message says otherwise (DisabledException for a key pending deletion)', async () => {
    const { value, published } = context(keyIn('PendingDeletion', new Date('2026-11-29T10:00:00Z')));
    await alertOnKeyUse({ ...refusedDecrypt, errorCode: 'DisabledException', errorMessage: `${keyArn} is disabled.` }, 'ct-3', value);
    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0]!.message).timeLeft).toBe('24 hours');
  });

  it('folds a storm into one alert per window, and the next alert says how many uses the last stood for', async () => {
    const { value, published } = context(keyIn('PendingDeletion', new Date('2026-12-27T10:00:00Z')));
    for (let use = 0; use < 50; use++) await alertOnKeyUse(refusedDecrypt, `ct-${use}`, value);
    expect(published).toHaveLength(1);
    await alertOnKeyUse(refusedDecrypt, 'ct-later', { ...value, now: new Date(NOW.getTime() + 15 * 60_000) });
    expect(published).toHaveLength(2);
    expect(JSON.parse(published[1]!.message)).toMatchObject({ usesSinceLastAlert: 50 });
  });

  it('records the alert in the ledger of the erasure the key belongs to', async () => {
    const { value, ledger } = context(keyIn('PendingDeletion', new Date('2026-12-27T10:00:00Z')));
    const subject = fingerprintSubject('user-4821');
    await ledger.record(subject, 'arn:execution:e-1', { type: 'ErasureStarted', eventId: 'e-1', executionName: 'erasure-x' });
    await alertOnKeyUse(refusedDecrypt, 'ct-9', value);
    const entries = (await ledger.read(subject)).entries;
    expect(entries.at(-1)?.event).toMatchObject({ type: 'KeyUseAlerted', keyArn, operation: 'Decrypt', cloudTrailEventId: 'ct-9' });
  });
});
