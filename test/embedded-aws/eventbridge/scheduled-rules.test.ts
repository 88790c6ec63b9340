import { CreateEventBusCommand, DescribeRuleCommand, DisableRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { EmbeddedEventBridge, type EventBridgeEvent } from '../../../embedded-aws/eventbridge/index.ts';
import { nextFireTime, parseScheduleExpression } from '../../../embedded-aws/eventbridge/schedule-expression.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:crypto-erasure-local-auditKeys`;
const DAY = 86_400_000;
// A Monday.
const START = new Date('2026-03-02T09:00:00.000Z');

/** The instants a schedule fires at after `from`, the next `count` of them, as ISO text. */
function firings(expression: string, from: string, count = 3): string[] {
  const schedule = parseScheduleExpression(expression);
  const instants: string[] = [];
  let after = Date.parse(from);
  for (let index = 0; index < count; index++) {
    after = nextFireTime(schedule, after, Date.parse(from)) as number;
    instants.push(new Date(after).toISOString());
  }
  return instants;
}

describe('schedule expressions', () => {
  it('runs a rate from the moment the rule is created', () => {
    expect(firings('rate(1 day)', '2026-03-02T09:00:00.000Z')).toEqual(['2026-03-03T09:00:00.000Z', '2026-03-04T09:00:00.000Z', '2026-03-05T09:00:00.000Z']);
    expect(firings('rate(15 minutes)', '2026-03-02T09:00:00.000Z', 2)).toEqual(['2026-03-02T09:15:00.000Z', '2026-03-02T09:30:00.000Z']);
  });

  it('runs a six-field cron expression in UTC', () => {
    expect(firings('cron(0 6 * * ? *)', '2026-03-02T05:59:00.000Z', 2)).toEqual(['2026-03-02T06:00:00.000Z', '2026-03-03T06:00:00.000Z']);
    expect(firings('cron(0/15 * * * ? *)', '2026-03-02T09:00:00.000Z', 2)).toEqual(['2026-03-02T09:15:00.000Z', '2026-03-02T09:30:00.000Z']);
    // Weekdays only: Friday 6 March, then Monday 9 March.
    expect(firings('cron(0 10 ? * MON-FRI *)', '2026-03-06T09:00:00.000Z', 2)).toEqual(['2026-03-06T10:00:00.000Z', '2026-03-09T10:00:00.000Z']);
  });

  it('understands L, W and # as the User Guide defines them', () => {
    expect(firings('cron(0 12 L * ? *)', '2026-02-01T00:00:00.000Z', 2)).toEqual(['2026-02-28T12:00:00.000Z', '2026-03-31T12:00:00.000Z']);
    // The last Friday (6) of March 2026 is the 27th; the second Tuesday (3#2) the 10th.
    expect(firings('cron(0 9 ? * 6L *)', '2026-03-01T00:00:00.000Z', 1)).toEqual(['2026-03-27T09:00:00.000Z']);
    expect(firings('cron(0 9 ? * 3#2 *)', '2026-03-01T00:00:00.000Z', 1)).toEqual(['2026-03-10T09:00:00.000Z']);
    // 15 March 2026 is a Sunday: the nearest weekday is Monday the 16th.
    expect(firings('cron(0 0 15W * ? *)', '2026-03-01T00:00:00.000Z', 1)).toEqual(['2026-03-16T00:00:00.000Z']);
  });

  it.each(['rate(1 days)', 'rate(5 hour)', 'rate(0 minutes)', 'cron(0 6 * * * *)', 'cron(0 6 ? * ? *)', 'cron(0 6 * * ?)', 'cron(61 6 * * ? *)', 'every day'])(
    'refuses %s',
    (expression) => {
      expect(() => parseScheduleExpression(expression)).toThrow();
    },
  );
});

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/** An EventBridge behind the loopback server, on a clock the tests move; deliveries are recorded. */
async function startEventBridge() {
  const clock = new VirtualClock({ start: START, timeScale: 1 });
  const delivered: EventBridgeEvent[] = [];
  const eventBridge = new EmbeddedEventBridge({ clock, log: () => undefined, deliver: async (_target, event) => void delivered.push(event) });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [eventBridge], queryServices: [] });
  const endpoint = await server.listen();
  const client = new EventBridgeClient({ endpoint, region: REGION, credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'x' }, maxAttempts: 1 });
  running.push(async () => {
    client.destroy();
    await eventBridge.close();
    await server.close();
  });
  return { client, eventBridge, clock, delivered };
}

describe('scheduled rules on the embedded EventBridge', () => {
  it('delivers a Scheduled Event to its target every day of virtual time', async () => {
    const { client, eventBridge, clock, delivered } = await startEventBridge();
    const { RuleArn } = await client.send(new PutRuleCommand({ Name: 'daily-audit', ScheduleExpression: 'rate(1 day)' }));
    await client.send(new PutTargetsCommand({ Rule: 'daily-audit', Targets: [{ Id: 'auditKeysSchedule', Arn: FUNCTION_ARN }] }));
    const created = clock.now().getTime();

    clock.advance(3 * DAY);
    await eventBridge.idle();

    expect(delivered).toEqual(
      [1, 2, 3].map((days) => ({
        version: '0',
        id: expect.any(String),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        time: new Date(created + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: REGION,
        resources: [RuleArn],
        detail: {},
      })),
    );
  });

  it('describes the rule with its ScheduleExpression and no EventPattern', async () => {
    const { client } = await startEventBridge();
    await client.send(new PutRuleCommand({ Name: 'daily-audit', ScheduleExpression: 'cron(0 6 * * ? *)' }));

    const rule = await client.send(new DescribeRuleCommand({ Name: 'daily-audit' }));

    expect(rule).toMatchObject({ ScheduleExpression: 'cron(0 6 * * ? *)', State: 'ENABLED' });
    expect(rule.EventPattern).toBeUndefined();
  });

  it('fires a cron rule declared in configuration at 06:00 UTC', async () => {
    const { eventBridge, clock, delivered } = await startEventBridge();
    eventBridge.addRule({ region: REGION, accountId: ACCOUNT, name: 'morning', scheduleExpression: 'cron(0 6 * * ? *)', targets: [{ Id: 'morning', Arn: FUNCTION_ARN }] });

    clock.advance(DAY);
    await eventBridge.idle();

    expect(delivered.map((event) => event.time)).toEqual(['2026-03-03T06:00:00Z']);
  });

  it('does not fire while the rule is disabled', async () => {
    const { client, eventBridge, clock, delivered } = await startEventBridge();
    await client.send(new PutRuleCommand({ Name: 'daily-audit', ScheduleExpression: 'rate(1 day)' }));
    await client.send(new PutTargetsCommand({ Rule: 'daily-audit', Targets: [{ Id: 'audit', Arn: FUNCTION_ARN }] }));
    await client.send(new DisableRuleCommand({ Name: 'daily-audit' }));

    clock.advance(2 * DAY);
    await eventBridge.idle();

    expect(delivered).toEqual([]);
  });

  it('refuses a schedule on a custom bus, and an expression it cannot read', async () => {
    const { client } = await startEventBridge();
    await client.send(new CreateEventBusCommand({ Name: 'closures' }));

    await expect(client.send(new PutRuleCommand({ Name: 'on-bus', EventBusName: 'closures', ScheduleExpression: 'rate(1 day)' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'ScheduleExpression is supported only on the default event bus.',
    });
    await expect(client.send(new PutRuleCommand({ Name: 'bad', ScheduleExpression: 'rate(1 days)' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Parameter ScheduleExpression is not valid.',
    });
  });
});
