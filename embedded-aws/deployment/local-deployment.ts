import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { MetricAlarm } from '../cloudwatch/index.ts';
import type { RuleState, RuleTarget } from '../eventbridge/embedded-event-bridge.ts';
import type { DeclaredKey } from '../kms/index.ts';
import { functionArn } from '../lambda/local-functions.ts';
import { resolveFunctionReferences, type Definition } from '../stepfunctions/definition.ts';
import { planAlarms } from './alarm-resources.ts';
import { planEventBridgeEvents, planFunctions, planScheduleEvents, planSqsEventSources } from './function-events.ts';
import { normaliseName, resolvingIntrinsics, type DeploymentScope, type Resources } from './intrinsics.ts';
import { plannedKeyIds, planKmsAliases, planKmsKeys } from './kms-resources.ts';
import { planRuleResources } from './rule-resources.ts';
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

export function planDeployment(config: ServerlessConfig, accountId: string): LocalDeployment {
  const stage = config.provider.stage ?? 'dev';
  const region = config.provider.region ?? 'us-east-1';
  const resources: Resources = config.resources?.Resources ?? {};
  const prefix = `${config.service}-${stage}`;
  const functionName = (key: string) => config.functions[key]?.name ?? `${prefix}-${key}`;
  const scope: DeploymentScope = { config, resources, stage, region, accountId, prefix, functionName };

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

  const kmsKeyIds = plannedKeyIds(scope);
  const plan = resolvingIntrinsics(scope, { topics, eventBuses, queues, tables, kmsKeyIds, stateMachines });
  const { resolve, resolveWithin } = plan;

  const functions = planFunctions(plan);
  const rules = planEventBridgeEvents(plan);
  const scheduleRules = planScheduleEvents(plan);
  const ruleResources = planRuleResources(plan);
  const kmsKeys = planKmsKeys(plan, kmsKeyIds);
  const alarms = planAlarms(plan);
  const kmsAliases = planKmsAliases(plan);

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

  const plannedQueues = queues.map((queue) => ({ ...queue, attributes: queueAttributes(queue.logicalId) }));
  const eventSourceMappings = planSqsEventSources(plan, plannedQueues, functions);

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
