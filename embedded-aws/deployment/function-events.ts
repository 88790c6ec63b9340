/**
 * The functions, and what osls compiles their `events` to: a rule per `eventBridge` event, a rule
 * per `schedule` expression, an event source mapping per `sqs` event.
 */
import type { RuleState, RuleTarget } from '../eventbridge/embedded-event-bridge.ts';
import { functionArn } from '../lambda/local-functions.ts';
import { QUEUE_ATTRIBUTE_DEFAULTS } from '../sqs/sqs-model.ts';
import { normaliseName, type PlanContext } from './intrinsics.ts';
import type { LocalFunctionDeployment, LocalRuleDeployment, LocalSqsEventSourceMapping } from './local-deployment.ts';

// The Serverless Framework's default function timeout.
const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 6;

export function planFunctions(plan: PlanContext): LocalFunctionDeployment[] {
  const { config, region, accountId, functionName, resolve } = plan;
  const providerEnvironment = config.provider.environment ?? {};
  return Object.keys(config.functions).map((key) => {
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
}

/** The rules of the functions' `eventBridge` events, each with the function as its one target. */
export function planEventBridgeEvents(plan: PlanContext): LocalRuleDeployment[] {
  const { config, region, accountId, prefix, functionName, resolve, resolveWithin } = plan;
  return Object.keys(config.functions).flatMap((key) =>
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
}

/**
 * The rules of the functions' `schedule` events: one rule on the default bus per expression, as
 * osls compiles it (logical id `<Function>EventsRuleSchedule<n>`, target Id `<function>Schedule`).
 */
export function planScheduleEvents(plan: PlanContext): LocalRuleDeployment[] {
  const { config, region, accountId, prefix, functionName, resolve } = plan;
  return Object.keys(config.functions).flatMap((key) => {
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
}

/** The event source mappings of the functions' `sqs` events, refused where CreateEventSourceMapping would refuse them. */
export function planSqsEventSources(
  plan: PlanContext,
  queues: readonly { arn: string; attributes: Record<string, string> }[],
  functions: readonly LocalFunctionDeployment[],
): LocalSqsEventSourceMapping[] {
  const { config, resolve } = plan;
  return Object.keys(config.functions).flatMap((key) =>
    (config.functions[key]!.events ?? []).flatMap((event, index): LocalSqsEventSourceMapping[] => {
      if (event.sqs === undefined) return [];
      const where = `functions.${key}.events.${index}.sqs`;
      const declared = typeof event.sqs === 'string' ? { arn: event.sqs } : event.sqs;
      const queueArn = resolve(declared.arn, `${where}.arn`);
      const queue = queues.find((candidate) => candidate.arn === queueArn);
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
}
