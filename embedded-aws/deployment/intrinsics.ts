/**
 * CloudFormation's intrinsic functions as serverless.yml uses them (`Ref`, `Fn::GetAtt`, `Fn::Sub`
 * and the pseudo parameters), resolved to the names and ARNs planned for the local resources. Every
 * part of the plan works from the context built here; an intrinsic the embedded AWS cannot resolve
 * stops the start-up with where it sits.
 */
import { functionArn } from '../lambda/local-functions.ts';
import type { ServerlessConfig } from './serverless-print.ts';

export type Resources = NonNullable<NonNullable<ServerlessConfig['resources']>['Resources']>;

/** Where the plan deploys, and the names the Serverless Framework chooses there. */
export interface DeploymentScope {
  config: ServerlessConfig;
  resources: Resources;
  stage: string;
  region: string;
  accountId: string;
  /** `<service>-<stage>`, which the names the Serverless Framework chooses start with. */
  prefix: string;
  functionName(key: string): string;
}

/** The resources an intrinsic may name, with the names and ARNs planned for them. */
export interface NamedResources {
  topics: readonly { logicalId: string; name: string; arn: string }[];
  eventBuses: readonly { logicalId: string; name: string; arn: string }[];
  queues: readonly { logicalId: string; name: string; arn: string; url: string }[];
  tables: readonly { logicalId: string; name: string; arn: string }[];
  kmsKeyIds: readonly { logicalId: string; keyId: string; arn: string }[];
  stateMachines: readonly { logicalId: string; name: string; arn: string }[];
}

/** What every part of the plan works from: where it deploys, and how intrinsics resolve there. */
export interface PlanContext extends DeploymentScope {
  /** A literal as text, or the name or ARN an intrinsic stands for. */
  resolve(value: unknown, where: string): string;
  /** A value with every intrinsic in it resolved, at any depth. */
  resolveWithin(value: unknown, where: string): unknown;
  ruleIdentity(logicalId: string): { name: string; eventBusName: string; arn: string };
  alarmName(logicalId: string): string;
}

export function resolvingIntrinsics(scope: DeploymentScope, named: NamedResources): PlanContext {
  const { config, resources, region, accountId, prefix, functionName } = scope;
  const { topics, eventBuses, queues, tables, kmsKeyIds, stateMachines } = named;
  const functionKeys = Object.keys(config.functions);
  const logicalFunctionKey = (logicalId: string) => functionKeys.find((key) => `${normaliseName(key)}LambdaFunction` === logicalId);

  const alarmName = (logicalId: string) => {
    const declared = resources[logicalId]?.Properties?.AlarmName;
    return declared === undefined ? `${prefix}-${logicalId}` : resolve(declared, `resources.${logicalId}.AlarmName`);
  };

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

  return { ...scope, resolve, resolveWithin, ruleIdentity, alarmName };
}

/** The Serverless Framework's logical-id form of a name: `resolveKeys` → `ResolveKeys`, `my-fn` → `MyDashfn`. */
export function normaliseName(name: string): string {
  const capitalised = name.charAt(0).toUpperCase() + name.slice(1);
  return capitalised.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
}
