import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { EmbeddedCloudWatch, type MetricAlarm, type MetricSource } from '../../../embedded-aws/cloudwatch/index.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:oncall';
const MINUTE = 60_000;
// Half a minute past, so the first evaluation, on the minute, comes 30 seconds after deployment.
const START = new Date('2026-03-02T10:00:30.000Z');

/** A metric the test writes: one value per put, at the clock's instant. */
class TestMetric implements MetricSource {
  readonly namespace = 'Test/Erasure';
  readonly metricNames = ['Failures'];
  private readonly points: { at: number; value: number }[] = [];
  private readonly listeners: (() => void)[] = [];

  put(at: number, value = 1): void {
    this.points.push({ at, value });
    for (const listener of this.listeners) listener();
  }

  values(_query: unknown, from: number, to: number, now: number): number[] {
    return this.points.filter((point) => point.at >= from && point.at < to && point.at <= now).map((point) => point.value);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}

function alarmOn(overrides: Partial<MetricAlarm> = {}): MetricAlarm {
  return {
    name: 'erasure-failures',
    arn: 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:erasure-failures',
    description: 'An erasure failed.',
    region: 'eu-west-1',
    accountId: '111122223333',
    namespace: 'Test/Erasure',
    metricName: 'Failures',
    dimensions: [{ name: 'StateMachineArn', value: 'arn:aws:states:eu-west-1:111122223333:stateMachine:erasure' }],
    statistic: 'Sum',
    period: 300,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    treatMissingData: 'notBreaching',
    actionsEnabled: true,
    alarmActions: [TOPIC],
    okActions: [],
    insufficientDataActions: [],
    ...overrides,
  };
}

const running: EmbeddedCloudWatch[] = [];
afterEach(async () => {
  for (const cloudWatch of running.splice(0)) await cloudWatch.close();
});

function startCloudWatch(alarm: MetricAlarm) {
  const clock = new VirtualClock({ start: START, timeScale: 1 });
  const metric = new TestMetric();
  const published: { topicArn: string; subject: string; message: Record<string, any> }[] = [];
  const cloudWatch = new EmbeddedCloudWatch({
    clock,
    metrics: [metric],
    log: () => undefined,
    notify: async (topicArn, subject, message) => void published.push({ topicArn, subject, message: JSON.parse(message) }),
  });
  running.push(cloudWatch);
  cloudWatch.deployAlarm(alarm);
  const advance = async (ms: number) => {
    clock.advance(ms);
    await cloudWatch.idle();
  };
  return { clock, metric, published, cloudWatch, advance, now: () => clock.now().getTime() };
}

describe('a CloudWatch alarm on the virtual clock', () => {
  it('starts in INSUFFICIENT_DATA and is OK after its first evaluation when missing data is not breaching', async () => {
    const { cloudWatch, advance, published } = startCloudWatch(alarmOn());
    expect(cloudWatch.state('erasure-failures')).toBe('INSUFFICIENT_DATA');

    await advance(MINUTE);

    expect(cloudWatch.state('erasure-failures')).toBe('OK');
    expect(published).toEqual([]);
  });

  it("publishes CloudWatch's notification to its SNS action on the change to ALARM", async () => {
    const { metric, advance, published, now } = startCloudWatch(alarmOn());
    await advance(MINUTE);

    metric.put(now());
    await advance(MINUTE);

    expect(published).toEqual([
      {
        topicArn: TOPIC,
        subject: 'ALARM: "erasure-failures" in EU (Ireland)',
        message: {
          AlarmName: 'erasure-failures',
          AlarmDescription: 'An erasure failed.',
          AWSAccountId: '111122223333',
          AlarmConfigurationUpdatedTimestamp: '2026-03-02T10:00:30.000+0000',
          NewStateValue: 'ALARM',
          NewStateReason: 'Threshold Crossed: 1 datapoint [1.0 (02/03/26 10:00:00)] was greater than or equal to the threshold (1.0).',
          StateChangeTime: '2026-03-02T10:02:00.000+0000',
          Region: 'EU (Ireland)',
          AlarmArn: 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:erasure-failures',
          OldStateValue: 'OK',
          OKActions: [],
          AlarmActions: [TOPIC],
          InsufficientDataActions: [],
          Trigger: {
            MetricName: 'Failures',
            Namespace: 'Test/Erasure',
            StatisticType: 'Statistic',
            Statistic: 'SUM',
            Unit: null,
            Dimensions: [{ value: 'arn:aws:states:eu-west-1:111122223333:stateMachine:erasure', name: 'StateMachineArn' }],
            Period: 300,
            EvaluationPeriods: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            Threshold: 1,
            TreatMissingData: 'notBreaching',
            EvaluateLowSampleCountPercentile: '',
          },
        },
      },
    ]);
  });

  it('pages once while it stays in ALARM, however many datapoints breach', async () => {
    const { metric, advance, published, now, cloudWatch } = startCloudWatch(alarmOn());
    await advance(MINUTE);

    for (let minute = 0; minute < 20; minute++) {
      metric.put(now());
      await advance(MINUTE);
    }

    expect(cloudWatch.state('erasure-failures')).toBe('ALARM');
    expect(published.map((notification) => notification.message.NewStateValue)).toEqual(['ALARM']);
  });

  it('returns to OK once the breaching period has passed, telling its OKActions', async () => {
    const { metric, advance, published, now, cloudWatch } = startCloudWatch(alarmOn({ okActions: [TOPIC] }));
    await advance(MINUTE);
    metric.put(now());

    await advance(10 * MINUTE);

    expect(cloudWatch.state('erasure-failures')).toBe('OK');
    // The first evaluation, out of INSUFFICIENT_DATA, is a change to OK too.
    expect(published.map(({ subject, message }) => [subject, message.OldStateValue, message.NewStateValue])).toEqual([
      ['OK: "erasure-failures" in EU (Ireland)', 'INSUFFICIENT_DATA', 'OK'],
      ['ALARM: "erasure-failures" in EU (Ireland)', 'OK', 'ALARM'],
      ['OK: "erasure-failures" in EU (Ireland)', 'ALARM', 'OK'],
    ]);
    expect(published[2]?.message.NewStateReason).toBe(
      'Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].',
    );
  });

  it('goes to INSUFFICIENT_DATA without datapoints when missing data is missing', async () => {
    const { advance, cloudWatch } = startCloudWatch(alarmOn({ treatMissingData: 'missing' }));

    await advance(MINUTE);

    expect(cloudWatch.state('erasure-failures')).toBe('INSUFFICIENT_DATA');
  });

  it('goes to ALARM when M out of N datapoints breach, and not with fewer', async () => {
    const alarm = alarmOn({ period: 60, evaluationPeriods: 3, datapointsToAlarm: 2 });
    const { metric, advance, published, now, cloudWatch } = startCloudWatch(alarm);
    await advance(MINUTE);

    metric.put(now());
    await advance(MINUTE);
    expect(cloudWatch.state('erasure-failures')).toBe('OK');
    metric.put(now());
    await advance(MINUTE);

    expect(cloudWatch.state('erasure-failures')).toBe('ALARM');
    expect(published[0]?.message.NewStateReason).toMatch(
      /^Threshold Crossed: 2 out of the last 3 datapoints \[1\.0 \(02\/03\/26 10:02:00\), 1\.0 \(02\/03\/26 10:01:00\)\] were greater than or equal to the threshold \(1\.0\) and 1 missing datapoint was treated as \[NonBreaching\] \(minimum 2 datapoints for OK -> ALARM transition\)\.$/,
    );
    expect(published[0]?.message.Trigger.DatapointsToAlarm).toBe(2);
  });

  it('refuses an alarm on a metric no embedded service produces', () => {
    const clock = new VirtualClock({ start: START });
    const cloudWatch = new EmbeddedCloudWatch({ clock, metrics: [new TestMetric()], notify: async () => undefined, log: () => undefined });
    running.push(cloudWatch);

    expect(() => cloudWatch.deployAlarm(alarmOn({ namespace: 'AWS/Lambda', metricName: 'Errors' }))).toThrow(/produces no AWS\/Lambda Errors metric/);
  });
});
