/**
 * A CloudWatch metric alarm as the embedded CloudWatch evaluates it: the properties of an
 * AWS::CloudWatch::Alarm (or PutMetricAlarm) on one metric, intrinsics resolved, and how one
 * evaluation turns its datapoints into a state (CloudWatch User Guide, "Using Amazon CloudWatch
 * alarms": evaluation periods, datapoints to alarm, missing data).
 */
export type Statistic = 'SampleCount' | 'Average' | 'Sum' | 'Minimum' | 'Maximum';
export type ComparisonOperator = 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface MetricAlarm {
  name: string;
  arn: string;
  description?: string;
  region: string;
  accountId: string;
  namespace: string;
  metricName: string;
  dimensions: { name: string; value: string }[];
  statistic: Statistic;
  /** Seconds: 10, 20, 30 or a multiple of 60. */
  period: number;
  evaluationPeriods: number;
  /** M of "M out of N"; EvaluationPeriods when not declared. */
  datapointsToAlarm?: number;
  threshold: number;
  comparisonOperator: ComparisonOperator;
  treatMissingData: TreatMissingData;
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
}

export const STATISTICS: readonly Statistic[] = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'];
export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = ['GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'];
export const TREAT_MISSING_DATA: readonly TreatMissingData[] = ['breaching', 'notBreaching', 'ignore', 'missing'];

/** One period's datapoint: the statistic of the values in [start, start + period), or missing. */
export interface Datapoint {
  start: number;
  value: number | undefined;
  sampleCount: number;
}

export interface Evaluation {
  state: AlarmState;
  reason: string;
  /** StateReasonData: the JSON CloudWatch gives with the reason. */
  reasonData: Record<string, unknown>;
}

export function statisticOf(statistic: Statistic, values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (statistic) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return values.reduce((total, value) => total + value, 0);
    case 'Average':
      return values.reduce((total, value) => total + value, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
  }
}

function breaches(alarm: MetricAlarm, value: number): boolean {
  switch (alarm.comparisonOperator) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= alarm.threshold;
    case 'GreaterThanThreshold':
      return value > alarm.threshold;
    case 'LessThanThreshold':
      return value < alarm.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= alarm.threshold;
  }
}

const PHRASES: Record<ComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/**
 * The state the alarm's N most recent datapoints (oldest first) put it in: ALARM when at least M
 * breach, missing ones counted as TreatMissingData says (`ignore` keeps the current state when all
 * are missing, `missing` makes that INSUFFICIENT_DATA); OK otherwise. The reason follows the
 * wording of CloudWatch's notifications ("Threshold Crossed: 1 datapoint [1.0 (16/03/24 12:15:00)]
 * was greater than or equal to the threshold (1.0).").
 */
export function evaluateAlarm(alarm: MetricAlarm, datapoints: Datapoint[], current: AlarmState, evaluatedAt: number): Evaluation {
  const periods = datapoints.length;
  const required = alarm.datapointsToAlarm ?? alarm.evaluationPeriods;
  const present = datapoints.filter((datapoint) => datapoint.value !== undefined).reverse();
  const missing = periods - present.length;
  const breaching = present.filter((datapoint) => breaches(alarm, datapoint.value as number)).length + (alarm.treatMissingData === 'breaching' ? missing : 0);
  const reasonData = {
    version: '1.0',
    queryDate: cloudWatchTime(evaluatedAt),
    ...(datapoints[0] ? { startDate: cloudWatchTime(datapoints[0].start) } : {}),
    statistic: alarm.statistic,
    period: alarm.period,
    recentDatapoints: present.map((datapoint) => datapoint.value),
    threshold: alarm.threshold,
    evaluatedDatapoints: present.map((datapoint) => ({ timestamp: cloudWatchTime(datapoint.start), sampleCount: datapoint.sampleCount, value: datapoint.value })),
  };
  const threshold = javaDouble(alarm.threshold);
  const phrase = PHRASES[alarm.comparisonOperator];
  const listed = `[${present.map((datapoint) => `${javaDouble(datapoint.value as number)} (${datapointTime(datapoint.start)})`).join(', ')}]`;
  const treatedAs = alarm.treatMissingData === 'breaching' ? 'Breaching' : 'NonBreaching';
  const missingClause = missing > 0 && (alarm.treatMissingData === 'breaching' || alarm.treatMissingData === 'notBreaching') ? ` and ${count(missing, 'missing datapoint')} ${wasWere(missing)} treated as [${treatedAs}]` : '';

  if (present.length === 0 && alarm.treatMissingData === 'missing') {
    return { state: 'INSUFFICIENT_DATA', reason: `Insufficient Data: ${count(periods, 'datapoint')} ${wasWere(periods)} unknown.`, reasonData };
  }
  if (present.length === 0 && alarm.treatMissingData === 'ignore') {
    return { state: current, reason: `Insufficient Data: ${count(periods, 'datapoint')} ${wasWere(periods)} unknown; the state is kept (TreatMissingData: ignore).`, reasonData };
  }
  if (breaching >= required) {
    const reason =
      periods === 1 && present.length === 1
        ? `Threshold Crossed: 1 datapoint ${listed} was ${phrase} the threshold (${threshold}).`
        : `Threshold Crossed: ${breaching} out of the last ${periods} datapoints ${listed} ${wasWere(breaching)} ${phrase} the threshold (${threshold})${missingClause} (minimum ${count(required, 'datapoint')} for OK -> ALARM transition).`;
    return { state: 'ALARM', reason, reasonData };
  }
  const reason =
    present.length === 0
      ? `Threshold Crossed: no datapoints were received for ${count(periods, 'period')}${missingClause}.`
      : `Threshold Crossed: ${count(present.length, 'datapoint')} ${listed} ${wasWere(present.length)} not ${phrase} the threshold (${threshold})${missingClause}.`;
  return { state: 'OK', reason, reasonData };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function wasWere(n: number): string {
  return n === 1 ? 'was' : 'were';
}

/** CloudWatch writes its times with milliseconds and a numeric zone: `2024-03-16T12:16:45.770+0000`. */
export function cloudWatchTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '+0000');
}

/** Numbers as CloudWatch (Java) prints doubles in reasons: `1.0`, `613.0`, `0.5`. */
export function javaDouble(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

/** A datapoint's period start in reasons: `16/03/24 12:15:00` (UTC). */
function datapointTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(2, 4)} ${iso.slice(11, 19)}`;
}
