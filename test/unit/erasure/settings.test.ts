import { describe, expect, it } from 'vitest';
import { isImmediateErasure, readAlertConfig, readIntakeConfig, readKeyPolicy } from '../../../functions/lib/erasure/settings.ts';
import { functionEnvironment } from '../../support/settings.ts';

describe('settings', () => {
  it('reads the key policy serverless.yml gives the functions', () => {
    expect(readKeyPolicy({ ...functionEnvironment, ALLOWED_ACCOUNT_IDS: '111122223333, 444455556666' })).toEqual({
      pendingWindowDays: 7,
      subjectTagKey: 'erasure:subject',
      aliasPrefix: 'alias/erasure/subject',
      allowedAccountIds: ['111122223333', '444455556666'],
      immediateErasureReasons: [],
    });
  });

  it('deletes imported key material at once only for the closure reasons the stage names', () => {
    const policy = readKeyPolicy({ ...functionEnvironment, IMMEDIATE_ERASURE_REASONS: 'gdpr-erasure, breach' });
    expect(isImmediateErasure(policy, 'breach')).toBe(true);
    expect(isImmediateErasure(policy, 'customer-request')).toBe(false);
    expect(isImmediateErasure(policy, null)).toBe(false);
    expect(isImmediateErasure(readKeyPolicy({ ...functionEnvironment, IMMEDIATE_ERASURE_REASONS: '*' }), null)).toBe(true);
    expect(isImmediateErasure(readKeyPolicy(functionEnvironment), 'breach')).toBe(false);
  });

  it('defaults the waiting period to 30 days', () => {
    const { PENDING_WINDOW_DAYS: _, ...env } = functionEnvironment;
    expect(readKeyPolicy(env).pendingWindowDays).toBe(30);
  });

  it.each(['6', '31', '7.5', 'thirty'])('refuses a waiting period of %s days at start', (days) => {
    expect(() => readKeyPolicy({ ...functionEnvironment, PENDING_WINDOW_DAYS: days })).toThrow(
      expect.objectContaining({ name: 'InvalidSettings', message: expect.stringContaining('PENDING_WINDOW_DAYS') }),
    );
  });

  it('refuses the alias prefix reserved for AWS managed keys', () => {
    expect(() => readKeyPolicy({ ...functionEnvironment, ALIAS_PREFIX: 'alias/aws/s3' })).toThrow(expect.objectContaining({ name: 'InvalidSettings' }));
  });

  it('refuses intake without any allowed source', () => {
    expect(() => readIntakeConfig({ ...functionEnvironment, ALLOWED_EVENT_SOURCES: ' , ' })).toThrow(
      expect.objectContaining({ name: 'InvalidSettings', message: expect.stringContaining('ALLOWED_EVENT_SOURCES') }),
    );
  });

  it('reads the escalation contact without the whitespace around it', () => {
    expect(readAlertConfig({ ...functionEnvironment, ESCALATION_CONTACT: '  the security on-call\n' }).escalationContact).toBe('the security on-call');
  });

  it('names each setting at fault and what it must be', () => {
    expect(() => readKeyPolicy({ ...functionEnvironment, PENDING_WINDOW_DAYS: '31', ALIAS_PREFIX: 'alias/aws/s3' })).toThrow(
      expect.objectContaining({
        name: 'InvalidSettings',
        message: "invalid settings: PENDING_WINDOW_DAYS: must be a whole number of days from 7 to 30 (KMS's waiting period); ALIAS_PREFIX: must be alias/<name> without a trailing slash, outside alias/aws/ (reserved for AWS managed keys)",
      }),
    );
  });
});
