import type { RuleTarget } from '../eventbridge/embedded-event-bridge.ts';
import { functionArn } from '../lambda/local-functions.ts';
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
  queues: { logicalId: string; name: string; arn: string; url: string }[];
  stateMachines: { logicalId: string; name: string; arn: string; type: 'STANDARD' | 'EXPRESS'; definition: Definition }[];
  rules: { name: string; eventBusName: string; pattern: Record<string, unknown>; target: RuleTarget }[];
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
}

type Resources = NonNullable<NonNullable<ServerlessConfig['resources']>['Resources']>;

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
    .map(([logicalId]) => {
      const name = nameOf(logicalId, 'QueueName');
      return { logicalId, name, arn: `arn:aws:sqs:${region}:${accountId}:${name}`, url: `https://sqs.${region}.amazonaws.com/${accountId}/${name}` };
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
    const machine = stateMachines.find((candidate) => candidate.logicalId === logicalId);
    if (machine) return attr === 'Name' ? machine.name : machine.arn;
    const fnKey = logicalFunctionKey(logicalId);
    if (fnKey && attr === 'Arn') return functionArn(region, accountId, functionName(fnKey));
    throw new Error(`${where}: the embedded AWS has no resource ${logicalId} (attribute ${attr})`);
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
        const target: RuleTarget = {
          Id: `${name}-target`,
          Arn: functionArn(region, accountId, functionName(key)),
          ...(event.retryPolicy
            ? { RetryPolicy: { MaximumRetryAttempts: event.retryPolicy.maximumRetryAttempts, MaximumEventAgeInSeconds: event.retryPolicy.maximumEventAge } }
            : {}),
          ...(event.deadLetterQueueArn !== undefined ? { DeadLetterConfig: { Arn: resolve(event.deadLetterQueueArn, `${where}.deadLetterQueueArn`) } } : {}),
        };
        return { name, eventBusName, pattern: event.pattern ?? {}, target };
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
    queues,
    rules,
    stateMachines: stateMachines.map(({ logicalId, name, arn, type, definition }) => ({
      logicalId,
      name,
      arn,
      type,
      definition: resolveFunctionReferences(definition, (key) => functionArn(region, accountId, functionName(key))),
    })),
  };
}

/** The Serverless Framework's logical-id form of a name: `resolveKeys` → `ResolveKeys`, `my-fn` → `MyDashfn`. */
function normaliseName(name: string): string {
  const capitalised = name.charAt(0).toUpperCase() + name.slice(1);
  return capitalised.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
}
