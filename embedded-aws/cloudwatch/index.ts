export { EmbeddedCloudWatch, type EmbeddedCloudWatchOptions } from './embedded-cloudwatch.ts';
export { alarmNotification, regionName } from './alarm-notification.ts';
export { type AlarmState, type ComparisonOperator, type MetricAlarm, type Statistic, type TreatMissingData } from './metric-alarm.ts';
export { SqsMetrics, StepFunctionsMetrics, type MetricQuery, type MetricSource } from './metric-sources.ts';
