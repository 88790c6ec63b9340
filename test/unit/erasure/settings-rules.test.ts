import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { readAlertConfig, readIntakeConfig, readKeyPolicy } from '../../../functions/lib/erasure/settings.ts';
import { settingRules, type SettingName } from '../../../functions/lib/erasure/settings-rules.ts';
import { functionEnvironment } from '../../support/settings.ts';

type DeploySettings = (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Record<string, unknown>>;
const deploySettings = createRequire(import.meta.url)('../../../deploy/settings.cjs') as DeploySettings;

const stageParams: Record<string, unknown> = {
  pendingWindowDays: 30,
  allowedEventSources: 'com.example.accounts',
  subjectTagKey: 'erasure:subject',
  aliasPrefix: 'alias/erasure/subject',
  allowedAccountIds: '',
  immediateErasureReasons: '',
  alertWindowMinutes: 15,
  escalationContact: 'the security on-call',
  auditSchedule: 'rate(1 day)',
  protected: false,
};

function packageWith(name: SettingName, value: string) {
  return deploySettings({ resolveVariable: async (variable) => ({ ...stageParams, [name]: value })[variable.replace(/^param:/, '')] });
}

/** Where each setting reaches a function: its environment variable and the reader that checks it; none for deploy-only settings. */
const functionSide: Record<SettingName, { variable: string; read: (env: Record<string, string>) => unknown } | null> = {
  pendingWindowDays: { variable: 'PENDING_WINDOW_DAYS', read: readKeyPolicy },
  alertWindowMinutes: { variable: 'ALERT_WINDOW_MINUTES', read: readAlertConfig },
  subjectTagKey: { variable: 'SUBJECT_TAG_KEY', read: readKeyPolicy },
  aliasPrefix: { variable: 'ALIAS_PREFIX', read: readKeyPolicy },
  allowedAccountIds: { variable: 'ALLOWED_ACCOUNT_IDS', read: readKeyPolicy },
  immediateErasureReasons: { variable: 'IMMEDIATE_ERASURE_REASONS', read: readKeyPolicy },
  allowedEventSources: { variable: 'ALLOWED_EVENT_SOURCES', read: readIntakeConfig },
  escalationContact: { variable: 'ESCALATION_CONTACT', read: readAlertConfig },
  auditSchedule: null,
};

const values: Record<SettingName, { refused: string[]; accepted: string[] }> = {
  pendingWindowDays: { refused: ['6', '31', '7.5', 'thirty', ''], accepted: ['7', '30'] },
  alertWindowMinutes: { refused: ['0', '1441', '1.5', 'never', ''], accepted: ['1', '1440'] },
  subjectTagKey: {
    refused: ['', 'aws:subject', 'AWS:subject', 'Aws:Subject', 't'.repeat(129), 'erasure#subject'],
    accepted: ['erasure:subject', 'Owner of the data', 'propriétaire', 't'.repeat(128), 'aws-subject'],
  },
  aliasPrefix: {
    refused: ['', 'erasure/subject', 'alias/', 'alias/erasure/', 'alias/aws/s3', 'alias/aws', 'alias/erasure subject'],
    accepted: ['alias/erasure/subject', 'alias/e', 'alias/awsome'],
  },
  allowedAccountIds: { refused: ['11112222333', '111122223333,abc', '1111-2222-3333'], accepted: ['', '111122223333', '111122223333, 444455556666'] },
  immediateErasureReasons: { refused: ['r'.repeat(1001), `breach,${'r'.repeat(1001)}`], accepted: ['', '*', 'gdpr-erasure, breach', 'r'.repeat(1000)] },
  allowedEventSources: { refused: ['', ' , '], accepted: ['com.example.accounts', 'com.example.accounts, com.example.billing'] },
  escalationContact: { refused: ['', '   ', 'c'.repeat(201)], accepted: ['the security on-call', 'c'.repeat(200)] },
  auditSchedule: { refused: ['daily', 'rate(1 fortnight)', 'cron(0 3 * * *)'], accepted: ['rate(1 day)', 'rate(12 hours)', 'cron(0 3 * * ? *)'] },
};

const cases = (outcome: 'refused' | 'accepted') =>
  (Object.keys(values) as SettingName[]).flatMap((name) => values[name][outcome].map((value) => ({ name, value, shown: JSON.stringify(value.length > 40 ? `${value.slice(0, 12)}… (${value.length})` : value) })));

describe('the settings rules', () => {
  it('are each tried here, on both sides', () => {
    expect(Object.keys(values).sort()).toEqual(Object.keys(settingRules).sort());
  });

  describe.each(cases('refused'))('$name = $shown', ({ name, value }) => {
    it('is refused before packaging, naming the param and what it must be', async () => {
      await expect(packageWith(name, value)).rejects.toThrow(`${name} must be ${settingRules[name].mustBe}`);
    });

    const atStart = functionSide[name];
    if (atStart) {
      it('is refused by a function when it starts, naming the variable and what it must be', () => {
        expect(() => atStart.read({ ...functionEnvironment, [atStart.variable]: value })).toThrow(
          expect.objectContaining({ name: 'InvalidSettings', message: expect.stringContaining(`${atStart.variable}: must be ${settingRules[name].mustBe}`) }),
        );
      });
    }
  });

  describe.each(cases('accepted'))('$name = $shown', ({ name, value }) => {
    it('is accepted before packaging', async () => {
      await expect(packageWith(name, value)).resolves.toBeDefined();
    });

    const atStart = functionSide[name];
    if (atStart) {
      it('is accepted by a function when it starts', () => {
        expect(() => atStart.read({ ...functionEnvironment, [atStart.variable]: value })).not.toThrow();
      });
    }
  });

  it('gives the functions the same values the stage was packaged with', async () => {
    const packaged = await deploySettings({
      resolveVariable: async (variable) =>
        ({ ...stageParams, pendingWindowDays: '7', allowedAccountIds: ' 111122223333 ,444455556666,', immediateErasureReasons: 'breach, *', escalationContact: '  the security on-call ' })[variable.replace(/^param:/, '')],
    });
    // The environment serverless.yml builds from custom.erasure (provider.environment).
    const environment = {
      ...functionEnvironment,
      PENDING_WINDOW_DAYS: String(packaged.pendingWindowDays),
      ALLOWED_ACCOUNT_IDS: String(packaged.allowedAccountIdsCsv),
      IMMEDIATE_ERASURE_REASONS: String(packaged.immediateErasureReasonsCsv),
      ESCALATION_CONTACT: String(packaged.escalationContact),
    };
    expect(readKeyPolicy(environment)).toMatchObject({ pendingWindowDays: 7, allowedAccountIds: ['111122223333', '444455556666'], immediateErasureReasons: ['breach', '*'] });
    expect(readAlertConfig(environment).escalationContact).toBe('the security on-call');
  });
});
