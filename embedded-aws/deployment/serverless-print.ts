import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * serverless.yml as the Serverless Framework itself resolves it (`osls print`): params, file
 * references and deploy/settings.cjs all applied, CloudFormation intrinsics left for the embedded
 * AWS to resolve. Reading it through osls, not a YAML parser of our own, is what keeps the local
 * runtime and the deployed stack from drifting apart.
 */
export interface ServerlessConfig {
  service: string;
  provider: { stage?: string; region?: string; environment?: Record<string, unknown>; timeout?: number };
  functions: Record<string, ServerlessFunction>;
  stepFunctions?: { stateMachines?: Record<string, { id?: string; name?: string; type?: string; definition: unknown }> };
  resources?: { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  /** `custom.erasure` is deploy/settings.cjs's validated view of the stage's params. */
  custom?: { erasure?: Record<string, unknown> };
}

export interface ServerlessFunction {
  handler: string;
  name?: string;
  environment?: Record<string, unknown>;
  maximumRetryAttempts?: number;
  maximumEventAge?: number;
  destinations?: { onFailure?: unknown };
  /** Seconds; the provider's, or the Serverless Framework's default of 6. */
  timeout?: number;
  /** The function's reserved concurrency: at most this many invocations at once (0 stops it). */
  reservedConcurrency?: number;
  events?: { eventBridge?: EventBridgeEventConfig; schedule?: ScheduleEventConfig; sqs?: SqsEventConfig }[];
}

/**
 * A function's `sqs` event: the queue's ARN alone, or the object form osls compiles into an
 * AWS::Lambda::EventSourceMapping (BatchSize, MaximumBatchingWindowInSeconds, FunctionResponseTypes,
 * Enabled, FilterCriteria, ScalingConfig.MaximumConcurrency).
 */
export type SqsEventConfig =
  | string
  | {
      arn: unknown;
      batchSize?: number;
      maximumBatchingWindow?: number;
      functionResponseType?: 'ReportBatchItemFailures';
      enabled?: boolean;
      filterPatterns?: unknown[];
      maximumConcurrency?: number;
    };

/**
 * A function's `schedule` event: `rate(1 day)` as a string, or the object form with one or more
 * expressions (`rate: [cron(0 6 * * ? *), rate(15 minutes)]`). osls deploys each expression as an
 * AWS::Events::Rule on the default bus (or, with `method: scheduler`, an AWS::Scheduler::Schedule).
 */
export type ScheduleEventConfig =
  | string
  | {
      rate: unknown[];
      enabled?: boolean;
      name?: string;
      description?: string;
      input?: string | Record<string, unknown>;
      inputPath?: string;
      inputTransformer?: unknown;
      method?: 'eventBus' | 'scheduler';
      timezone?: string;
    };

export interface EventBridgeEventConfig {
  eventBus?: unknown;
  pattern?: Record<string, unknown>;
  retryPolicy?: { maximumEventAge?: number; maximumRetryAttempts?: number };
  deadLetterQueueArn?: unknown;
  name?: string;
  /** false deploys the rule DISABLED. */
  enabled?: boolean;
  /** Not in osls 4.3.1's schema: it is accepted, and left out of the deployed rule. */
  state?: string;
}

export async function printServerlessConfig(projectRoot: string, stage: string, region: string, params: Record<string, string> = {}): Promise<ServerlessConfig> {
  const args = ['print', '--format', 'json', '--stage', stage, '--region', region, ...Object.entries(params).map(([key, value]) => `--param=${key}=${value}`)];
  const env = {
    ...process.env,
    PATH: `${join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  try {
    const { stdout } = await run(join(projectRoot, 'node_modules', '.bin', 'osls'), args, { cwd: projectRoot, env, maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout) as ServerlessConfig;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    const detail = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.split('\n').filter((line) => line.trim() && !line.trimStart().startsWith('at ')).slice(0, 8).join('\n');
    throw new Error(`serverless.yml could not be resolved by osls:\n${detail || failure.message}`);
  }
}
