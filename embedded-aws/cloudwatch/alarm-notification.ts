/**
 * What CloudWatch publishes to an alarm's SNS actions on a state change. AWS documents no schema;
 * the fields, their order and formats follow notifications CloudWatch sent (2019 to 2024, as kept
 * in the test data of aws-lambda-go and alert formatters): Subject `ALARM: "<name>" in EU (Ireland)`,
 * times like `2024-03-16T12:16:45.770+0000`, the Statistic in capitals, Unit null.
 */
import { cloudWatchTime, type AlarmState, type Evaluation, type MetricAlarm } from './metric-alarm.ts';

/**
 * Region names as CloudWatch writes them in notifications. "EU (Ireland)" is what AWS sent (the
 * samples above); the others follow the same pattern, and an unknown Region is written as its code.
 */
const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'ca-central-1': 'Canada (Central)',
  'sa-east-1': 'South America (Sao Paulo)',
  'eu-west-1': 'EU (Ireland)',
  'eu-west-2': 'EU (London)',
  'eu-west-3': 'EU (Paris)',
  'eu-central-1': 'EU (Frankfurt)',
  'eu-north-1': 'EU (Stockholm)',
  'eu-south-1': 'EU (Milan)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-northeast-2': 'Asia Pacific (Seoul)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
};

// SNS refuses subjects over 100 characters.
const MAX_SUBJECT_LENGTH = 100;

export interface AlarmTransition {
  alarm: MetricAlarm;
  oldState: AlarmState;
  evaluation: Evaluation;
  changedAt: number;
  configurationUpdatedAt: number;
}

export function regionName(region: string): string {
  return REGION_NAMES[region] ?? region;
}

export function alarmNotification({ alarm, oldState, evaluation, changedAt, configurationUpdatedAt }: AlarmTransition): { subject: string; message: string } {
  const subject = `${evaluation.state}: "${alarm.name}" in ${regionName(alarm.region)}`.slice(0, MAX_SUBJECT_LENGTH);
  const message = {
    AlarmName: alarm.name,
    AlarmDescription: alarm.description ?? null,
    AWSAccountId: alarm.accountId,
    AlarmConfigurationUpdatedTimestamp: cloudWatchTime(configurationUpdatedAt),
    NewStateValue: evaluation.state,
    NewStateReason: evaluation.reason,
    StateChangeTime: cloudWatchTime(changedAt),
    Region: regionName(alarm.region),
    AlarmArn: alarm.arn,
    OldStateValue: oldState,
    OKActions: alarm.okActions,
    AlarmActions: alarm.alarmActions,
    InsufficientDataActions: alarm.insufficientDataActions,
    Trigger: {
      MetricName: alarm.metricName,
      Namespace: alarm.namespace,
      StatisticType: 'Statistic',
      Statistic: alarm.statistic.toUpperCase(),
      Unit: null,
      Dimensions: alarm.dimensions.map(({ name, value }) => ({ value, name })),
      Period: alarm.period,
      EvaluationPeriods: alarm.evaluationPeriods,
      ...(alarm.datapointsToAlarm !== undefined ? { DatapointsToAlarm: alarm.datapointsToAlarm } : {}),
      ComparisonOperator: alarm.comparisonOperator,
      Threshold: alarm.threshold,
      TreatMissingData: alarm.treatMissingData,
      EvaluateLowSampleCountPercentile: '',
    },
  };
  return { subject, message: JSON.stringify(message) };
}
