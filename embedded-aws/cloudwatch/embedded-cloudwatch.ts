import { BackgroundWork } from '../background-work.ts';
import type { Clock } from '../clock.ts';
import { AwsServiceError, epochSeconds, type FaultInjector, type JsonObject, type JsonService, type RequestContext } from '../protocol.ts';
import { alarmNotification } from './alarm-notification.ts';
import {
  COMPARISON_OPERATORS,
  evaluateAlarm,
  STATISTICS,
  statisticOf,
  TREAT_MISSING_DATA,
  type AlarmState,
  type Datapoint,
  type MetricAlarm,
} from './metric-alarm.ts';
import type { MetricSource } from './metric-sources.ts';

export interface EmbeddedCloudWatchOptions {
  clock: Clock;
  faults?: FaultInjector;
  /** The services' metrics the alarms watch. */
  metrics: MetricSource[];
  /** Publishes an alarm's notification to one of its SNS topic actions. */
  notify: (topicArn: string, subject: string, message: string) => Promise<void>;
  log?: (line: string) => void;
}

interface AlarmRecord {
  alarm: MetricAlarm;
  source: MetricSource;
  state: AlarmState;
  reason: string;
  reasonData?: string;
  stateUpdatedAt: number;
  configurationUpdatedAt: number;
  lastEvaluatedAt: number;
  /** Evaluations run each minute until then; later ones could not change the state until a metric changes. */
  activeUntil: number;
  wake: () => void;
}

const MINUTE_MS = 60_000;
const DEFAULT_MAX_RECORDS = 50;

/**
 * CloudWatch metric alarms on the virtual clock: the AWS::CloudWatch::Alarm resources of
 * serverless.yml, evaluated once a minute on the metrics the embedded services produce, publishing
 * CloudWatch's notification to their SNS actions on each change of state (so an alarm that stays in
 * ALARM pages once). DescribeAlarms is served in AWS JSON 1.0 (`GraniteServiceVersion20100801`),
 * which @aws-sdk/client-cloudwatch speaks.
 *
 * A change of a metric makes the alarm evaluate each minute until that change has left its
 * evaluation range; between changes an evaluation would find the same datapoints, so none runs.
 */
export class EmbeddedCloudWatch implements JsonService {
  readonly targetPrefix = 'GraniteServiceVersion20100801';
  private readonly clock: Clock;
  private readonly faults: FaultInjector | undefined;
  private readonly metrics: MetricSource[];
  private readonly notify: EmbeddedCloudWatchOptions['notify'];
  private readonly log: (line: string) => void;
  private readonly alarms = new Map<string, AlarmRecord>();
  private readonly notifications: BackgroundWork;
  private readonly shutdown = new AbortController();

  constructor(options: EmbeddedCloudWatchOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
    this.metrics = options.metrics;
    this.notify = options.notify;
    this.log = options.log ?? ((line) => console.warn(line));
    this.notifications = new BackgroundWork((error) => this.log(`[cloudwatch] an alarm action failed: ${String(error)}`), options.clock.activity);
    for (const source of this.metrics) {
      source.onChange(() => {
        const now = this.clock.now().getTime();
        for (const record of this.alarms.values()) if (record.source === source) this.activate(record, now);
      });
    }
  }

  /** Creates an alarm of serverless.yml, in INSUFFICIENT_DATA until its first evaluation, a minute at most later. */
  deployAlarm(alarm: MetricAlarm): void {
    validateAlarm(alarm);
    const source = this.metrics.find((candidate) => candidate.namespace === alarm.namespace && candidate.metricNames.includes(alarm.metricName));
    if (!source) {
      const known = this.metrics.flatMap((candidate) => candidate.metricNames.map((name) => `${candidate.namespace} ${name}`)).join(', ');
      throw new Error(`alarm ${alarm.name}: the embedded AWS produces no ${alarm.namespace} ${alarm.metricName} metric (it produces ${known})`);
    }
    const now = this.clock.now().getTime();
    const record: AlarmRecord = {
      alarm,
      source,
      state: 'INSUFFICIENT_DATA',
      reason: 'Unchecked: Initial alarm creation',
      stateUpdatedAt: now,
      configurationUpdatedAt: now,
      lastEvaluatedAt: now,
      activeUntil: now + MINUTE_MS,
      wake: () => undefined,
    };
    this.alarms.set(alarm.name, record);
    void this.run(record);
  }

  /** The alarm's state: OK, ALARM or INSUFFICIENT_DATA. */
  state(alarmName: string): AlarmState {
    return this.existing(alarmName).state;
  }

  async handle(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject> {
    const fault = this.faults?.({ service: 'cloudwatch', operation, input, region: context.region });
    if (fault) throw fault;
    if (operation !== 'DescribeAlarms') throw new AwsServiceError('UnknownOperationException', `The embedded CloudWatch does not implement ${operation}.`);
    return this.describeAlarms(input, context);
  }

  /** True while an alarm's notification is being published, or an evaluation the clock has reached has yet to run. */
  get busy(): boolean {
    return this.notifications.busy || this.evaluationDue();
  }

  async idle(): Promise<void> {
    do {
      await this.notifications.settled();
      if (this.evaluationDue()) await new Promise<void>((resolve) => setImmediate(resolve));
    } while (this.busy);
  }

  async close(): Promise<void> {
    this.shutdown.abort();
    for (const record of this.alarms.values()) record.wake();
    await this.idle();
  }

  private evaluationDue(): boolean {
    if (this.shutdown.signal.aborted) return false;
    const now = this.clock.now().getTime();
    return [...this.alarms.values()].some((record) => {
      const next = nextEvaluation(record);
      return next <= now && next <= record.activeUntil;
    });
  }

  private existing(alarmName: string): AlarmRecord {
    const record = this.alarms.get(alarmName);
    if (!record) throw new Error(`no alarm named ${alarmName}; the alarms are ${[...this.alarms.keys()].join(', ')}`);
    return record;
  }

  private activate(record: AlarmRecord, changedAt: number): void {
    const { period, evaluationPeriods } = record.alarm;
    record.activeUntil = Math.max(record.activeUntil, changedAt + (evaluationPeriods + 1) * period * 1000 + MINUTE_MS);
    // After a quiet spell, evaluation resumes at the first minute of the change, not where it stopped.
    record.lastEvaluatedAt = Math.max(record.lastEvaluatedAt, Math.ceil(changedAt / MINUTE_MS) * MINUTE_MS - MINUTE_MS);
    record.wake();
  }

  private async run(record: AlarmRecord): Promise<void> {
    const { signal } = this.shutdown;
    while (!signal.aborted) {
      const next = nextEvaluation(record);
      if (next > record.activeUntil) {
        await new Promise<void>((resolve) => {
          record.wake = resolve;
        });
        continue;
      }
      await this.clock.sleepUntil(new Date(next), signal);
      if (signal.aborted) return;
      try {
        this.evaluate(record, next);
      } catch (error) {
        this.log(`[cloudwatch] alarm ${record.alarm.name} could not be evaluated: ${String(error)}`);
      }
      record.lastEvaluatedAt = Math.max(record.lastEvaluatedAt, next);
    }
  }

  /** One evaluation at `at`: the latest period is the one in progress (or just ended, on a boundary). */
  private evaluate(record: AlarmRecord, at: number): void {
    const { alarm } = record;
    const periodMs = alarm.period * 1000;
    const latest = Math.floor((at - 1) / periodMs) * periodMs;
    const datapoints: Datapoint[] = [];
    for (let index = alarm.evaluationPeriods - 1; index >= 0; index--) {
      const start = latest - index * periodMs;
      const values = record.source.values(alarm, start, start + periodMs, at);
      datapoints.push({ start, value: statisticOf(alarm.statistic, values), sampleCount: values.length });
    }
    const evaluation = evaluateAlarm(alarm, datapoints, record.state, at);
    if (evaluation.state === record.state) return;
    const oldState = record.state;
    record.state = evaluation.state;
    record.reason = evaluation.reason;
    record.reasonData = JSON.stringify(evaluation.reasonData);
    record.stateUpdatedAt = at;
    // What an operator watches: alarms raised and cleared, not the settling of a new alarm into OK.
    if (oldState === 'ALARM' || evaluation.state === 'ALARM') this.log(`[cloudwatch] alarm ${alarm.name}: ${oldState} -> ${evaluation.state}: ${evaluation.reason}`);
    if (!alarm.actionsEnabled) return;
    const actions = evaluation.state === 'ALARM' ? alarm.alarmActions : evaluation.state === 'OK' ? alarm.okActions : alarm.insufficientDataActions;
    if (actions.length === 0) return;
    const { subject, message } = alarmNotification({ alarm, oldState, evaluation, changedAt: at, configurationUpdatedAt: record.configurationUpdatedAt });
    for (const action of actions) {
      if (!action.startsWith('arn:aws:sns:')) {
        this.log(`[cloudwatch] alarm ${alarm.name}: the embedded CloudWatch runs SNS actions only, not ${action}`);
        continue;
      }
      this.notifications.track(`alarm action ${action}`, () => this.notify(action, subject, message));
    }
  }

  private describeAlarms(input: JsonObject, context: RequestContext): JsonObject {
    const names = Array.isArray(input.AlarmNames) ? input.AlarmNames.map(String) : undefined;
    const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : undefined;
    if (names && prefix !== undefined) {
      throw new AwsServiceError('InvalidParameterCombination', 'AlarmNamePrefix and AlarmNames cannot be specified together.');
    }
    const stateValue = typeof input.StateValue === 'string' ? input.StateValue : undefined;
    const actionPrefix = typeof input.ActionPrefix === 'string' ? input.ActionPrefix : undefined;
    const types = Array.isArray(input.AlarmTypes) ? input.AlarmTypes.map(String) : ['MetricAlarm'];
    const maxRecords = typeof input.MaxRecords === 'number' ? input.MaxRecords : DEFAULT_MAX_RECORDS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100) {
      throw new AwsServiceError('InvalidParameterValue', `The value ${String(input.MaxRecords)} for parameter MaxRecords is not valid.`);
    }
    const start = typeof input.NextToken === 'string' ? Number(Buffer.from(input.NextToken, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(start) || start < 0) throw new AwsServiceError('InvalidNextToken', 'The service couldn\u2019t process your request because the NextToken is invalid.');
    const matching = types.includes('MetricAlarm')
      ? [...this.alarms.values()]
          .filter(({ alarm }) => alarm.region === context.region && alarm.accountId === context.accountId)
          .filter(({ alarm }) => (names ? names.includes(alarm.name) : alarm.name.startsWith(prefix ?? '')))
          .filter((record) => stateValue === undefined || record.state === stateValue)
          .filter(({ alarm }) => actionPrefix === undefined || [...alarm.alarmActions, ...alarm.okActions, ...alarm.insufficientDataActions].some((action) => action.startsWith(actionPrefix)))
          .sort((a, b) => a.alarm.name.localeCompare(b.alarm.name))
      : [];
    const page = matching.slice(start, start + maxRecords);
    const end = start + maxRecords;
    return {
      MetricAlarms: page.map(describeAlarm),
      ...(types.includes('CompositeAlarm') ? { CompositeAlarms: [] } : {}),
      ...(end < matching.length ? { NextToken: Buffer.from(String(end)).toString('base64url') } : {}),
    };
  }
}

/** Alarms are evaluated on the minute, each minute. */
function nextEvaluation(record: AlarmRecord): number {
  return (Math.floor(record.lastEvaluatedAt / MINUTE_MS) + 1) * MINUTE_MS;
}

function describeAlarm(record: AlarmRecord): JsonObject {
  const { alarm } = record;
  return {
    AlarmName: alarm.name,
    AlarmArn: alarm.arn,
    ...(alarm.description !== undefined ? { AlarmDescription: alarm.description } : {}),
    AlarmConfigurationUpdatedTimestamp: epochSeconds(new Date(record.configurationUpdatedAt)),
    ActionsEnabled: alarm.actionsEnabled,
    OKActions: alarm.okActions,
    AlarmActions: alarm.alarmActions,
    InsufficientDataActions: alarm.insufficientDataActions,
    StateValue: record.state,
    StateReason: record.reason,
    ...(record.reasonData !== undefined ? { StateReasonData: record.reasonData } : {}),
    StateUpdatedTimestamp: epochSeconds(new Date(record.stateUpdatedAt)),
    MetricName: alarm.metricName,
    Namespace: alarm.namespace,
    Statistic: alarm.statistic,
    Dimensions: alarm.dimensions.map(({ name, value }) => ({ Name: name, Value: value })),
    Period: alarm.period,
    EvaluationPeriods: alarm.evaluationPeriods,
    ...(alarm.datapointsToAlarm !== undefined ? { DatapointsToAlarm: alarm.datapointsToAlarm } : {}),
    Threshold: alarm.threshold,
    ComparisonOperator: alarm.comparisonOperator,
    TreatMissingData: alarm.treatMissingData,
    StateTransitionedTimestamp: epochSeconds(new Date(record.stateUpdatedAt)),
  };
}

/** Refuses what PutMetricAlarm would refuse, before the alarm runs. */
function validateAlarm(alarm: MetricAlarm): void {
  const problem = (message: string) => new Error(`alarm ${alarm.name}: ${message}`);
  if (!STATISTICS.includes(alarm.statistic)) throw problem(`Statistic ${alarm.statistic} is not one of ${STATISTICS.join(', ')}`);
  if (!COMPARISON_OPERATORS.includes(alarm.comparisonOperator)) throw problem(`ComparisonOperator ${alarm.comparisonOperator} is not one of ${COMPARISON_OPERATORS.join(', ')}`);
  if (!TREAT_MISSING_DATA.includes(alarm.treatMissingData)) throw problem(`TreatMissingData ${alarm.treatMissingData} is not one of ${TREAT_MISSING_DATA.join(', ')}`);
  if (![10, 20, 30].includes(alarm.period) && !(Number.isInteger(alarm.period) && alarm.period > 0 && alarm.period % 60 === 0)) {
    throw problem(`Period ${alarm.period} must be 10, 20, 30 or a multiple of 60`);
  }
  if (!Number.isInteger(alarm.evaluationPeriods) || alarm.evaluationPeriods < 1) throw problem(`EvaluationPeriods ${alarm.evaluationPeriods} must be at least 1`);
  if (alarm.datapointsToAlarm !== undefined && (alarm.datapointsToAlarm < 1 || alarm.datapointsToAlarm > alarm.evaluationPeriods)) {
    throw problem(`DatapointsToAlarm ${alarm.datapointsToAlarm} must be between 1 and EvaluationPeriods (${alarm.evaluationPeriods})`);
  }
  if (!Number.isFinite(alarm.threshold)) throw problem('Threshold must be a number');
}
