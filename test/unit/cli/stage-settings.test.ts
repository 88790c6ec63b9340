import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { stageSettingsOf } from '../../../cli/stage-settings.ts';
import type { ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const deploySettings = createRequire(import.meta.url)('../../../deploy/settings.cjs') as (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Record<string, unknown>>;

const defaultParams: Record<string, unknown> = {
  pendingWindowDays: 30,
  allowedEventSources: 'com.example.accounts',
  subjectTagKey: 'erasure:subject',
  aliasPrefix: 'alias/erasure/subject',
  allowedAccountIds: '',
  alertWindowMinutes: 15,
  escalationContact: 'the security on-call',
  auditSchedule: 'rate(1 day)',
  protected: false,
};

function settingsFor(params: Record<string, unknown>) {
  return deploySettings({ resolveVariable: async (name) => ({ ...defaultParams, ...params })[name.replace(/^param:/, '')] });
}

describe('the protected param', () => {
  it('is a boolean, from YAML or from --param', async () => {
    await expect(settingsFor({})).resolves.toMatchObject({ protected: false });
    await expect(settingsFor({ protected: true })).resolves.toMatchObject({ protected: true });
    await expect(settingsFor({ protected: 'true' })).resolves.toMatchObject({ protected: true });
  });

  it('refuses anything but true or false before packaging', async () => {
    await expect(settingsFor({ protected: 'yes' })).rejects.toThrow('protected must be true or false, got yes');
  });
});

describe('stageSettingsOf', () => {
  const printed = (erasure: Record<string, unknown>): ServerlessConfig => ({
    service: 'crypto-erasure',
    provider: { stage: 'prod', environment: { SUBJECT_TAG_KEY: 'erasure:subject', ALIAS_PREFIX: 'alias/erasure/subject', PENDING_WINDOW_DAYS: '30', ALLOWED_ACCOUNT_IDS: '111122223333' } },
    functions: {},
    custom: { erasure },
  });

  it("reads whether the stage is protected and its key policy from the stage's resolved configuration", async () => {
    const erasure = await settingsFor({ protected: true });
    expect(stageSettingsOf(printed(erasure))).toEqual({
      protected: true,
      keyPolicy: { pendingWindowDays: 30, subjectTagKey: 'erasure:subject', aliasPrefix: 'alias/erasure/subject', allowedAccountIds: ['111122223333'], immediateErasureReasons: [] },
      allowedEventSources: ['com.example.accounts'],
    });
  });

  it('fails, naming the field, on a configuration deploy/settings.cjs did not make', () => {
    expect(() => stageSettingsOf(printed({ allowedEventSources: [] }))).toThrow(expect.objectContaining({ kind: 'failed', message: expect.stringContaining('protected') }));
  });
});
