import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig, ScheduleEventConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:crypto-erasure-local-auditKeys`;

/** A function with `schedule` events, as `osls print` hands it over. */
function configWith(...schedules: ScheduleEventConfig[]): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: 'local', region: 'eu-west-1' },
    functions: { auditKeys: { handler: 'functions/audit-keys.handler', events: schedules.map((schedule) => ({ schedule })) } },
  };
}

describe('planDeployment, schedule events', () => {
  it('deploys `schedule: rate(1 day)` as a scheduled rule on the default bus targeting the function', () => {
    const { rules } = planDeployment(configWith('rate(1 day)'), ACCOUNT);

    expect(rules).toEqual([
      {
        name: 'crypto-erasure-local-AuditKeysEventsRuleSchedule1',
        eventBusName: 'default',
        scheduleExpression: 'rate(1 day)',
        state: 'ENABLED',
        targets: [{ Id: 'auditKeysSchedule', Arn: FUNCTION_ARN }],
      },
    ]);
  });

  it('deploys each expression of the object form as a rule, with its input and state', () => {
    const { rules } = planDeployment(configWith({ rate: ['cron(0 6 * * ? *)', 'rate(15 minutes)'], enabled: false, input: { scope: 'all' } }), ACCOUNT);

    expect(rules.map(({ name, scheduleExpression, state, targets }) => ({ name, scheduleExpression, state, input: targets[0]?.Input }))).toEqual([
      { name: 'crypto-erasure-local-AuditKeysEventsRuleSchedule1', scheduleExpression: 'cron(0 6 * * ? *)', state: 'DISABLED', input: '{"scope":"all"}' },
      { name: 'crypto-erasure-local-AuditKeysEventsRuleSchedule2', scheduleExpression: 'rate(15 minutes)', state: 'DISABLED', input: '{"scope":"all"}' },
    ]);
  });

  it('refuses a schedule meant for EventBridge Scheduler, which the embedded AWS does not run', () => {
    expect(() => planDeployment(configWith({ rate: ['rate(1 day)'], method: 'scheduler' }), ACCOUNT)).toThrow(/not EventBridge Scheduler schedules/);
  });
});
