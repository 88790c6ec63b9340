/**
 * AWS::CloudWatch::Alarm resources: alarms on one metric and a Statistic, the only kind the embedded
 * CloudWatch evaluates.
 */
import type { ComparisonOperator, Statistic, TreatMissingData } from '../cloudwatch/index.ts';
import type { PlanContext } from './intrinsics.ts';
import type { LocalAlarmDeployment } from './local-deployment.ts';

export function planAlarms(plan: PlanContext): LocalAlarmDeployment[] {
  const { resources, region, accountId, resolve, alarmName } = plan;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map(([logicalId, resource]) => {
      const where = `resources.${logicalId}`;
      const declared = resource.Properties ?? {};
      const unsupported = ['Metrics', 'ExtendedStatistic', 'ThresholdMetricId', 'EvaluateLowSampleCountPercentile'].find((property) => declared[property] !== undefined);
      if (unsupported !== undefined) throw new Error(`${where}.${unsupported}: the embedded CloudWatch evaluates alarms on one metric and a Statistic`);
      const text = (property: string) => (declared[property] === undefined ? undefined : resolve(declared[property], `${where}.${property}`));
      const number = (property: string) => {
        const value = text(property);
        if (value === undefined) return undefined;
        if (!Number.isFinite(Number(value))) throw new Error(`${where}.${property}: ${value} is not a number`);
        return Number(value);
      };
      const list = (property: string) => (Array.isArray(declared[property]) ? (declared[property] as unknown[]).map((value, index) => resolve(value, `${where}.${property}.${index}`)) : []);
      const dimensions = Array.isArray(declared.Dimensions) ? (declared.Dimensions as { Name?: unknown; Value?: unknown }[]) : [];
      const name = alarmName(logicalId);
      const description = text('AlarmDescription');
      const datapointsToAlarm = number('DatapointsToAlarm');
      return {
        logicalId,
        name,
        arn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${name}`,
        ...(description !== undefined ? { description } : {}),
        region,
        accountId,
        namespace: text('Namespace') ?? '',
        metricName: text('MetricName') ?? '',
        dimensions: dimensions.map((dimension, index) => ({
          name: resolve(dimension.Name, `${where}.Dimensions.${index}.Name`),
          value: resolve(dimension.Value, `${where}.Dimensions.${index}.Value`),
        })),
        statistic: (text('Statistic') ?? '') as Statistic,
        period: number('Period') ?? 0,
        evaluationPeriods: number('EvaluationPeriods') ?? 0,
        ...(datapointsToAlarm !== undefined ? { datapointsToAlarm } : {}),
        threshold: number('Threshold') ?? Number.NaN,
        comparisonOperator: (text('ComparisonOperator') ?? '') as ComparisonOperator,
        treatMissingData: (text('TreatMissingData') ?? 'missing') as TreatMissingData,
        actionsEnabled: declared.ActionsEnabled !== false,
        alarmActions: list('AlarmActions'),
        okActions: list('OKActions'),
        insufficientDataActions: list('InsufficientDataActions'),
      };
    });
}
