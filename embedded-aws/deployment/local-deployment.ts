import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { ComparisonOperator, MetricAlarm, Statistic, TreatMissingData } from '../cloudwatch/index.ts';
import type { RuleState, RuleTarget } from '../eventbridge/embedded-event-bridge.ts';
import type { DeclaredKey } from '../kms/index.ts';
import { functionArn } from '../lambda/local-functions.ts';
import { QUEUE_ATTRIBUTE_DEFAULTS } from '../sqs/queue-store.ts';
import { resolveFunctionReferences, type Definition } from '../stepfunctions/definition.ts';
import type { ServerlessConfig } from './serverless-print.ts';

/**
 * What `osls deploy` would create, worked out for the embedded AWS: names and ARNs in one Region
 * and account, every `Ref`, `Fn::GetAtt` and `Fn::Sub` in the functions' environment resolved to
 * the local resources. An intrinsic the embedded AWS cannot resolve stops the start-up with its
 * name, rather than handing a function a half-configured environment.
 */
export interface LocalDeployment {
  service: string;
  stage: string;
  region: string;
  accountId: string;
  functions: LocalFunctionDeployment[];
  topics: { logicalId: string; name: string; arn: string }[];
  eventBuses: { logicalId: string; name: string; arn: string }[];
  /** `url` is AWS's form, as CloudFormation's Ref gives it; the embedded SQS answers to it too. */
  queues: { logicalId: string; name: string; arn: string; url: string; attributes: Record<string, string> }[];
  tables: LocalTableDeployment[];
  kmsKeys: LocalKmsKeyDeployment[];
  kmsAliases: { logicalId: string; aliasName: string; targetKeyId: string }[];
  stateMachines: { logicalId: string; name: string; arn: string; type: 'STANDARD' | 'EXPRESS'; definition: Definition }[];
  rules: LocalRuleDeployment[];
  alarms: LocalAlarmDeployment[];
  /** The functions' `sqs` events: Lambda polls each queue and invokes the function with batches. */
  eventSourceMappings: LocalSqsEventSourceMapping[];
}

/** An AWS::Lambda::EventSourceMapping from an SQS queue, as osls compiles a function's `sqs` event. */
export interface LocalSqsEventSourceMapping {
  functionKey: string;
  functionArn: string;
  queueArn: string;
  /** 1 to 10 on a FIFO queue, 1 to 10,000 on a standard one; 10 unless declared. */
  batchSize: number;
  /** How long Lambda gathers a batch before invoking (0 to 300; standard queues only). */
  maximumBatchingWindowSeconds: number;
  /** FunctionResponseTypes [ReportBatchItemFailures]: the function names the messages that failed. */
  reportBatchItemFailures: boolean;
  enabled: boolean;
  /** ScalingConfig.MaximumConcurrency (2 to 1,000): at most this many batches at once. */
  maximumConcurrency?: number;
}

/**
 * An AWS::CloudWatch::Alarm on one metric, intrinsics resolved. Without AlarmName it is named
 * `<service>-<stage>-<LogicalId>`, as unnamed rules are (CloudFormation adds a random suffix).
 */
export interface LocalAlarmDeployment extends MetricAlarm {
  logicalId: string;
}

/**
 * A rule from a function's `eventBridge` event or from an `AWS::Events::Rule` resource. A rule
 * resource without Name is named `<service>-<stage>-<LogicalId>`: CloudFormation would name it
 * `<stack>-<LogicalId>-<random suffix>`, which a local deployment could not find again at its next start.
 */
export interface LocalRuleDeployment {
  name: string;
  eventBusName: string;
  /** Absent on a rule that only runs on a schedule. */
  pattern?: Record<string, unknown>;
  /** The rule resource's ScheduleExpression (`rate(1 day)`, `cron(0 12 * * ? *)`), as declared. */
  scheduleExpression?: string;
  state: RuleState;
  description?: string;
  targets: RuleTarget[];
}

export interface LocalFunctionDeployment {
  key: string;
  functionName: string;
  arn: string;
  handler: string;
  environment: Record<string, string>;
  /** Lambda's asynchronous retries (0 to 2; default 2) and where a failed asynchronous event goes. */
  maximumRetryAttempts: number;
  maximumEventAgeSeconds: number;
  onFailureDestination: string | undefined;
  /** At most this many invocations at once, when the function reserves concurrency. */
  reservedConcurrency?: number;
  timeoutSeconds: number;
}

/** An AWS::DynamoDB::Table: what CreateTable is given for it, and whether DeleteTable is refused. */
export interface LocalTableDeployment {
  logicalId: string;
  name: string;
  arn: string;
  definition: CreateTableCommandInput;
  deletionProtectionEnabled: boolean;
}

/**
 * An AWS::KMS::Key: what CreateKey is given for it, under a key ID chosen here (see plannedKeyId).
 * KeyPolicy is not kept: the embedded AWS enforces no IAM.
 */
export interface LocalKmsKeyDeployment extends DeclaredKey {
  logicalId: string;
  arn: string;
}

type Resources = NonNullable<NonNullable<ServerlessConfig['resources']>['Resources']>;

// The Serverless Framework's default function timeout.
const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 6;

const RULE_STATES: readonly RuleState[] = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];
/** The AWS::Events::Rule Target properties the embedded EventBridge honours. */
const RULE_TARGET_PROPERTIES = ['Id', 'Arn', 'RoleArn', 'Input', 'InputPath', 'RetryPolicy', 'DeadLetterConfig'];

export function planDeployment(config: ServerlessConfig, accountId: string): LocalDeployment {
  const stage = config.provider.stage ?? 'dev';
  const region = config.provider.region ?? 'us-east-1';
  const resources: Resources = config.resources?.Resources ?? {};
  const prefix = `${config.service}-${stage}`;

  const functionKeys = Object.keys(config.functions);
  const functionName = (key: string) => config.functions[key]?.name ?? `${prefix}-${key}`;
  const logicalFunctionKey = (logicalId: string) => functionKeys.find((key) => `${normaliseName(key)}LambdaFunction` === logicalId);

  const stateMachines = Object.entries(config.stepFunctions?.stateMachines ?? {}).map(([key, machine]) => {
    const name = machine.name ?? `${normaliseName(key)}StepFunctionsStateMachine`;
    return {
      key,
      logicalId: machine.id ?? `${normaliseName(key)}StepFunctionsStateMachine`,
      name,
      arn: `arn:aws:states:${region}:${accountId}:stateMachine:${name}`,
      type: (machine.type ?? 'STANDARD') as 'STANDARD' | 'EXPRESS',
      definition: machine.definition,
    };
  });

  const nameOf = (logicalId: string, property: string) => {
    const value = resources[logicalId]?.Properties?.[property];
    return typeof value === 'string' ? value : `${prefix}-${logicalId}`;
  };

  const topics = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::SNS::Topic')
    .map(([logicalId]) => {
      const name = nameOf(logicalId, 'TopicName');
      return { logicalId, name, arn: `arn:aws:sns:${region}:${accountId}:${name}` };
    });
  const eventBuses = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Events::EventBus')
    .map(([logicalId]) => {
      const name = nameOf(logicalId, 'Name');
      return { logicalId, name, arn: `arn:aws:events:${region}:${accountId}:event-bus/${name}` };
    });
  const queues = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::SQS::Queue')
    .map(([logicalId, resource]) => {
      // CloudFormation names an unnamed FIFO queue with the .fifo suffix SQS requires of it.
      const fifo = [true, 'true'].includes(resource.Properties?.FifoQueue as boolean | string);
      const name = typeof resource.Properties?.QueueName === 'string' ? resource.Properties.QueueName : `${prefix}-${logicalId}${fifo ? '.fifo' : ''}`;
      return { logicalId, name, arn: `arn:aws:sqs:${region}:${accountId}:${name}`, url: `https://sqs.${region}.amazonaws.com/${accountId}/${name}` };
    });
  const alarmName = (logicalId: string) => {
    const declared = resources[logicalId]?.Properties?.AlarmName;
    return declared === undefined ? `${prefix}-${logicalId}` : resolve(declared, `resources.${logicalId}.AlarmName`);
  };
  const tables: LocalTableDeployment[] = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table')
    .map(([logicalId, resource]) => {
      const name = nameOf(logicalId, 'TableName');
      const declared = resource.Properties ?? {};
      // The CreateTable parameters among the resource's properties; the rest (point-in-time
      // recovery, SSE, TTL, streams) changes nothing the embedded DynamoDB does.
      const definition = Object.fromEntries(
        ['KeySchema', 'AttributeDefinitions', 'BillingMode', 'ProvisionedThroughput', 'GlobalSecondaryIndexes', 'LocalSecondaryIndexes']
          .filter((property) => declared[property] !== undefined)
          .map((property) => [property, declared[property]]),
      );
      return {
        logicalId,
        name,
        arn: `arn:aws:dynamodb:${region}:${accountId}:table/${name}`,
        definition: { ...definition, TableName: name } as CreateTableCommandInput,
        deletionProtectionEnabled: declared.DeletionProtectionEnabled === true,
      };
    });

  const kmsKeyIds = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::KMS::Key')
    .map(([logicalId, resource]) => {
      const keyId = plannedKeyId({ accountId, region, service: config.service, stage, logicalId }, resource.Properties?.MultiRegion === true);
      return { logicalId, keyId, arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}` };
    });

  const resolve = (value: unknown, where: string): string => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (value && typeof value === 'object') {
      const node = value as Record<string, unknown>;
      if (typeof node.Ref === 'string') return attribute(node.Ref, 'Ref', where);
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return attribute(String(getAtt[0]), String(getAtt[1]), where);
      if (typeof node['Fn::Sub'] === 'string') {
        return node['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_, reference: string) => {
          const [logicalId = '', attr] = reference.split('.');
          return attribute(logicalId, attr ?? 'Ref', where);
        });
      }
    }
    throw new Error(`${where}: the embedded AWS cannot resolve ${JSON.stringify(value)}`);
  };

  const attribute = (logicalId: string, attr: string, where: string): string => {
    if (logicalId === 'AWS::Region') return region;
    if (logicalId === 'AWS::AccountId') return accountId;
    if (logicalId === 'AWS::Partition') return 'aws';
    const topic = topics.find((candidate) => candidate.logicalId === logicalId);
    if (topic && (attr === 'Ref' || attr === 'TopicArn')) return topic.arn;
    if (topic && attr === 'TopicName') return topic.name;
    const bus = eventBuses.find((candidate) => candidate.logicalId === logicalId);
    if (bus) return attr === 'Arn' ? bus.arn : bus.name;
    const queue = queues.find((candidate) => candidate.logicalId === logicalId);
    if (queue) return attr === 'Arn' ? queue.arn : attr === 'QueueName' ? queue.name : queue.url;
    const table = tables.find((candidate) => candidate.logicalId === logicalId);
    if (table && attr === 'Ref') return table.name;
    if (table && attr === 'Arn') return table.arn;
    const kmsKey = kmsKeyIds.find((candidate) => candidate.logicalId === logicalId);
    if (kmsKey && (attr === 'Ref' || attr === 'KeyId')) return kmsKey.keyId;
    if (kmsKey && attr === 'Arn') return kmsKey.arn;
    if (resources[logicalId]?.Type === 'AWS::KMS::Alias' && attr === 'Ref') {
      return resolve(resources[logicalId]?.Properties?.AliasName, `resources.${logicalId}.AliasName`);
    }
    const machine = stateMachines.find((candidate) => candidate.logicalId === logicalId);
    if (machine) return attr === 'Name' ? machine.name : machine.arn;
    if (resources[logicalId]?.Type === 'AWS::IAM::Role' && attr === 'Arn') {
      // No IAM here: the role is named, never assumed. CloudFormation names an unnamed role after
      // the stack and its logical id.
      const roleName = resources[logicalId]?.Properties?.RoleName;
      return `arn:aws:iam::${accountId}:role/${typeof roleName === 'string' ? roleName : `${prefix}-${logicalId}`}`;
    }
    const fnKey = logicalFunctionKey(logicalId);
    if (fnKey && attr === 'Arn') return functionArn(region, accountId, functionName(fnKey));
    if (resources[logicalId]?.Type === 'AWS::CloudWatch::Alarm' && (attr === 'Ref' || attr === 'Arn')) {
      const name = alarmName(logicalId);
      return attr === 'Ref' ? name : `arn:aws:cloudwatch:${region}:${accountId}:alarm:${name}`;
    }
    if (resources[logicalId]?.Type === 'AWS::Events::Rule' && (attr === 'Ref' || attr === 'Arn')) {
      const rule = ruleIdentity(logicalId);
      if (attr === 'Arn') return rule.arn;
      // A rule's Ref is its CloudFormation physical ID: the name on the default bus,
      // `<bus>|<name>` on any other (cloudformation-coverage-roadmap#1131).
      return rule.eventBusName === 'default' ? rule.name : `${rule.eventBusName}|${rule.name}`;
    }
    throw new Error(`${where}: the embedded AWS has no resource ${logicalId} (attribute ${attr})`);
  };

  // CloudFormation reads an object whose one key is `Ref` or `Fn::...` as an intrinsic, wherever it
  // sits; an event pattern may hold them at any depth (`stateMachineArn: [!Ref ErasureStateMachine]`).
  const resolveWithin = (value: unknown, where: string): unknown => {
    if (Array.isArray(value)) return value.map((item, index) => resolveWithin(item, `${where}.${index}`));
    if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) return resolve(value, where);
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveWithin(item, `${where}.${key}`)]));
    }
    return value;
  };

  // An AWS::Events::Rule's name and bus, which its Ref and Fn::GetAtt need before the rule is planned.
  const ruleIdentity = (logicalId: string) => {
    const declared = resources[logicalId]?.Properties ?? {};
    const name = declared.Name === undefined ? `${prefix}-${logicalId}` : resolve(declared.Name, `resources.${logicalId}.Name`);
    // EventBusName takes the bus's name or ARN: `!Ref Bus`, `!GetAtt Bus.Name` and `!GetAtt Bus.Arn` all work.
    const eventBusName =
      declared.EventBusName === undefined ? 'default' : resolve(declared.EventBusName, `resources.${logicalId}.EventBusName`).replace(/^arn:.*:event-bus\//, '');
    const path = eventBusName === 'default' ? name : `${eventBusName}/${name}`;
    return { name, eventBusName, arn: `arn:aws:events:${region}:${accountId}:rule/${path}` };
  };

  const providerEnvironment = config.provider.environment ?? {};
  const functions: LocalFunctionDeployment[] = functionKeys.map((key) => {
    const fn = config.functions[key]!;
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...providerEnvironment, ...(fn.environment ?? {}) })) {
      environment[name] = resolve(value, `functions.${key}.environment.${name}`);
    }
    const onFailure = fn.destinations?.onFailure;
    const onFailureArn = onFailure === undefined ? undefined : resolve(typeof onFailure === 'object' && onFailure && 'arn' in onFailure ? (onFailure as { arn: unknown }).arn : onFailure, `functions.${key}.destinations.onFailure`);
    return {
      key,
      functionName: functionName(key),
      arn: functionArn(region, accountId, functionName(key)),
      handler: fn.handler,
      environment,
      maximumRetryAttempts: fn.maximumRetryAttempts ?? 2,
      maximumEventAgeSeconds: fn.maximumEventAge ?? 21_600,
      onFailureDestination: onFailureArn,
      ...(fn.reservedConcurrency !== undefined ? { reservedConcurrency: fn.reservedConcurrency } : {}),
      timeoutSeconds: fn.timeout ?? config.provider.timeout ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS,
    };
  });

  const rules = functionKeys.flatMap((key) =>
    (config.functions[key]!.events ?? [])
      .map((event, index) => ({ event: event.eventBridge, index }))
      .filter((entry): entry is { event: NonNullable<typeof entry.event>; index: number } => entry.event !== undefined)
      .map(({ event, index }) => {
        const where = `functions.${key}.events.${index}.eventBridge`;
        const eventBusName = event.eventBus === undefined ? 'default' : resolve(event.eventBus, `${where}.eventBus`).replace(/^arn:.*:event-bus\//, '');
        const name = event.name ?? `${prefix}-${key}-rule-${index + 1}`;
        const state: RuleState = event.enabled === false ? 'DISABLED' : 'ENABLED';
        // osls (4.3.1) accepts a `state` here but deploys the rule with the State above: refused,
        // rather than run locally a rule AWS would not have.
        if (event.state !== undefined && event.state !== state) {
          throw new Error(
            `${where}.state: osls leaves state out of the deployed rule, which is ${state}, not ${String(event.state)}; remove state (enabled: false gives DISABLED), or declare the rule as an AWS::Events::Rule resource, whose State is deployed`,
          );
        }
        const target: RuleTarget = {
          Id: `${name}-target`,
          Arn: functionArn(region, accountId, functionName(key)),
          ...(event.retryPolicy
            ? { RetryPolicy: { MaximumRetryAttempts: event.retryPolicy.maximumRetryAttempts, MaximumEventAgeInSeconds: event.retryPolicy.maximumEventAge } }
            : {}),
          ...(event.deadLetterQueueArn !== undefined ? { DeadLetterConfig: { Arn: resolve(event.deadLetterQueueArn, `${where}.deadLetterQueueArn`) } } : {}),
        };
        const pattern = resolveWithin(event.pattern ?? {}, `${where}.pattern`) as Record<string, unknown>;
        return { name, eventBusName, pattern, state, targets: [target] };
      }),
  );

  // A `schedule` event: one rule on the default bus per expression, as osls compiles it (logical id
  // `<Function>EventsRuleSchedule<n>`, target Id `<function>Schedule`).
  const scheduleRules = functionKeys.flatMap((key) => {
    let scheduleNumber = 0;
    return (config.functions[key]!.events ?? []).flatMap((event, index): LocalRuleDeployment[] => {
      if (event.schedule === undefined) return [];
      const where = `functions.${key}.events.${index}.schedule`;
      const declared = typeof event.schedule === 'string' ? { rate: [event.schedule] } : event.schedule;
      if (declared.method === 'scheduler') throw new Error(`${where}.method: the embedded AWS runs schedules as EventBridge rules, not EventBridge Scheduler schedules`);
      if (declared.inputTransformer !== undefined) throw new Error(`${where}.inputTransformer: the embedded EventBridge does not apply InputTransformer`);
      if (declared.name !== undefined && declared.rate.length > 1) throw new Error(`${where}.name: osls refuses a name for more than one rate expression`);
      const input = declared.input === undefined ? undefined : typeof declared.input === 'string' ? declared.input : JSON.stringify(declared.input);
      return declared.rate.map((expression, expressionIndex) => {
        scheduleNumber++;
        const name = declared.name ?? `${prefix}-${normaliseName(key)}EventsRuleSchedule${scheduleNumber}`;
        return {
          name,
          eventBusName: 'default',
          scheduleExpression: resolve(expression, `${where}.rate.${expressionIndex}`),
          state: declared.enabled === false ? 'DISABLED' : 'ENABLED',
          ...(declared.description !== undefined ? { description: declared.description } : {}),
          targets: [
            {
              Id: `${key}Schedule`,
              Arn: functionArn(region, accountId, functionName(key)),
              ...(input !== undefined ? { Input: input } : {}),
              ...(declared.inputPath !== undefined ? { InputPath: declared.inputPath } : {}),
            },
          ],
        };
      });
    });
  });

  const plannedTarget = (declared: unknown, where: string): RuleTarget => {
    const target = (declared ?? {}) as Record<string, unknown>;
    // A property the embedded EventBridge would not apply (InputTransformer, SqsParameters...) is
    // refused, rather than run locally a target that behaves unlike the deployed one.
    const unsupported = Object.keys(target).find((property) => !RULE_TARGET_PROPERTIES.includes(property));
    if (unsupported !== undefined) throw new Error(`${where}.${unsupported}: the embedded EventBridge does not apply ${unsupported}`);
    const deadLetterQueueArn = (target.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn;
    return {
      Id: resolve(target.Id, `${where}.Id`),
      Arn: resolve(target.Arn, `${where}.Arn`),
      ...(target.RoleArn !== undefined ? { RoleArn: resolve(target.RoleArn, `${where}.RoleArn`) } : {}),
      ...(target.Input !== undefined ? { Input: resolve(target.Input, `${where}.Input`) } : {}),
      ...(target.InputPath !== undefined ? { InputPath: resolve(target.InputPath, `${where}.InputPath`) } : {}),
      ...(target.RetryPolicy !== undefined ? { RetryPolicy: target.RetryPolicy as RuleTarget['RetryPolicy'] } : {}),
      ...(deadLetterQueueArn !== undefined ? { DeadLetterConfig: { Arn: resolve(deadLetterQueueArn, `${where}.DeadLetterConfig.Arn`) } } : {}),
    };
  };

  const ruleResources: LocalRuleDeployment[] = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .map(([logicalId, resource]) => {
      const where = `resources.${logicalId}`;
      const declared = resource.Properties ?? {};
      const { name, eventBusName } = ruleIdentity(logicalId);
      const state = declared.State === undefined ? 'ENABLED' : resolve(declared.State, `${where}.State`);
      if (!RULE_STATES.includes(state as RuleState)) {
        throw new Error(`${where}.State: ${state} is not a rule state (${RULE_STATES.join(', ')})`);
      }
      if (declared.EventPattern === undefined && declared.ScheduleExpression === undefined) {
        throw new Error(`${where}: a rule needs an EventPattern, a ScheduleExpression or both`);
      }
      // CloudFormation takes the pattern as JSON or as JSON text.
      const declaredPattern = typeof declared.EventPattern === 'string' ? (JSON.parse(declared.EventPattern) as unknown) : declared.EventPattern;
      const declaredTargets = Array.isArray(declared.Targets) ? (declared.Targets as unknown[]) : [];
      return {
        name,
        eventBusName,
        ...(declaredPattern !== undefined ? { pattern: resolveWithin(declaredPattern, `${where}.EventPattern`) as Record<string, unknown> } : {}),
        ...(declared.ScheduleExpression !== undefined ? { scheduleExpression: resolve(declared.ScheduleExpression, `${where}.ScheduleExpression`) } : {}),
        state: state as RuleState,
        ...(declared.Description !== undefined ? { description: resolve(declared.Description, `${where}.Description`) } : {}),
        targets: declaredTargets.map((target, index) => plannedTarget(target, `${where}.Targets.${index}`)),
      };
    });

  const kmsKeys: LocalKmsKeyDeployment[] = kmsKeyIds.map(({ logicalId, keyId, arn }) => {
    const declared = resources[logicalId]?.Properties ?? {};
    const property = (name: string, fallback: string) =>
      declared[name] === undefined ? fallback : resolve(declared[name], `resources.${logicalId}.${name}`);
    const tags = Array.isArray(declared.Tags) ? (declared.Tags as { Key?: unknown; Value?: unknown }[]) : [];
    return {
      logicalId,
      keyId,
      arn,
      keySpec: property('KeySpec', 'SYMMETRIC_DEFAULT'),
      keyUsage: property('KeyUsage', 'ENCRYPT_DECRYPT'),
      description: property('Description', ''),
      tags: tags.map((tag, index) => ({
        TagKey: resolve(tag.Key, `resources.${logicalId}.Tags.${index}.Key`),
        TagValue: resolve(tag.Value, `resources.${logicalId}.Tags.${index}.Value`),
      })),
      multiRegion: declared.MultiRegion === true,
      enabled: declared.Enabled !== false,
    };
  });
  // The queue attributes among an AWS::SQS::Queue's properties, as SQS renders them (strings;
  // RedrivePolicy as JSON text).
  const queueAttributes = (logicalId: string): Record<string, string> => {
    const declared = resources[logicalId]?.Properties ?? {};
    return Object.fromEntries(
      Object.entries(declared)
        .filter(([property]) => property !== 'QueueName' && property !== 'Tags')
        .map(([property, value]) => {
          const where = `resources.${logicalId}.${property}`;
          const resolved = resolveWithin(value, where);
          return [property, typeof resolved === 'object' && resolved !== null ? JSON.stringify(resolved) : resolve(resolved, where)];
        }),
    );
  };

  const alarms: LocalAlarmDeployment[] = Object.entries(resources)
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

  const kmsAliases = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::KMS::Alias')
    .map(([logicalId, resource]) => ({
      logicalId,
      aliasName: resolve(resource.Properties?.AliasName, `resources.${logicalId}.AliasName`),
      // TargetKeyId may name the key by ID or ARN; KMS keeps the key ID.
      targetKeyId: resolve(resource.Properties?.TargetKeyId, `resources.${logicalId}.TargetKeyId`).replace(/^arn:.*:key\//, ''),
    }));

  const plannedQueues = queues.map((queue) => ({ ...queue, attributes: queueAttributes(queue.logicalId) }));

  const eventSourceMappings: LocalSqsEventSourceMapping[] = functionKeys.flatMap((key) =>
    (config.functions[key]!.events ?? []).flatMap((event, index): LocalSqsEventSourceMapping[] => {
      if (event.sqs === undefined) return [];
      const where = `functions.${key}.events.${index}.sqs`;
      const declared = typeof event.sqs === 'string' ? { arn: event.sqs } : event.sqs;
      const queueArn = resolve(declared.arn, `${where}.arn`);
      const queue = plannedQueues.find((candidate) => candidate.arn === queueArn);
      if (!queue) throw new Error(`${where}.arn: the embedded AWS polls only the queues serverless.yml declares, not ${queueArn}`);
      if (declared.filterPatterns !== undefined) throw new Error(`${where}.filterPatterns: the embedded Lambda does not filter SQS events`);
      const fifo = queue.attributes.FifoQueue === 'true';
      const batchSize = declared.batchSize ?? 10;
      const window = declared.maximumBatchingWindow ?? 0;
      // The limits CreateEventSourceMapping enforces (Lambda Developer Guide, "Lambda parameters for
      // Amazon SQS event source mappings").
      if (fifo && batchSize > 10) throw new Error(`${where}.batchSize: ${batchSize} is more than a FIFO queue's maximum batch size of 10`);
      if (fifo && window > 0) throw new Error(`${where}.maximumBatchingWindow: Batching window is not supported for FIFO queues`);
      if (batchSize > 10 && window === 0) throw new Error(`${where}: Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10`);
      const fn = functions.find((candidate) => candidate.key === key)!;
      const visibilityTimeout = Number(queue.attributes.VisibilityTimeout ?? QUEUE_ATTRIBUTE_DEFAULTS.VisibilityTimeout);
      // Lambda refuses a mapping whose queue would show a message again while a function still works on it.
      if (visibilityTimeout < fn.timeoutSeconds) {
        throw new Error(`${where}: Queue visibility timeout: ${visibilityTimeout} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds`);
      }
      return [
        {
          functionKey: key,
          functionArn: fn.arn,
          queueArn,
          batchSize,
          maximumBatchingWindowSeconds: window,
          reportBatchItemFailures: declared.functionResponseType === 'ReportBatchItemFailures',
          enabled: declared.enabled !== false,
          ...(declared.maximumConcurrency !== undefined ? { maximumConcurrency: declared.maximumConcurrency } : {}),
        },
      ];
    }),
  );

  return {
    service: config.service,
    stage,
    region,
    accountId,
    functions,
    topics,
    eventBuses,
    queues: plannedQueues,
    eventSourceMappings,
    tables,
    kmsKeys,
    kmsAliases,
    rules: [...rules, ...scheduleRules, ...ruleResources],
    alarms,
    stateMachines: stateMachines.map(({ logicalId, name, arn, type, definition }) => ({
      logicalId,
      name,
      arn,
      type,
      // Functions first (serverless-step-functions' `Fn::GetAtt: [functionKey, Arn]`), then any
      // other resource's Ref or Fn::GetAtt (a queue's URL for an SQS task).
      definition: resolveWithin(
        resolveFunctionReferences(definition, (key) => functionArn(region, accountId, functionName(key))),
        `stepFunctions.stateMachines.${logicalId}.definition`,
      ) as Definition,
    })),
  };
}

/**
 * CloudFormation learns a key's ID only when it creates the key, but the functions' environment
 * needs it before the embedded KMS runs. So a declared key gets an ID derived from where it is
 * deployed: the same account, Region, service, stage and logical id always name the same key, which
 * lets a restarted embedded AWS find the key it kept. A UUID of version 8 (RFC 9562's layout for
 * name-based UUIDs over SHA-256); a multi-Region key's "mrk-" and 32 hex digits.
 */
export function plannedKeyId(
  where: { accountId: string; region: string; service: string; stage: string; logicalId: string },
  multiRegion: boolean,
): string {
  const digest = createHash('sha256')
    .update([where.accountId, where.region, where.service, where.stage, where.logicalId].join('\n'))
    .digest()
    .subarray(0, 16);
  if (multiRegion) return `mrk-${digest.toString('hex')}`;
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x80;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Serverless Framework's logical-id form of a name: `resolveKeys` → `ResolveKeys`, `my-fn` → `MyDashfn`. */
function normaliseName(name: string): string {
  const capitalised = name.charAt(0).toUpperCase() + name.slice(1);
  return capitalised.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
}
