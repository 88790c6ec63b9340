import { describe, expect, it } from 'vitest';
import { isImmediateErasure, readIntakeConfig, readKeyPolicy } from '../../../functions/lib/erasure/settings.ts';
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
});
