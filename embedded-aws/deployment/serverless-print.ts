import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

/** Runs `osls` with these arguments in the project and answers its standard output. */
export type OslsRunner = (projectRoot: string, args: string[]) => Promise<string>;

export interface PrintOptions {
  /** Where printed configurations are kept; `node_modules/.cache/crypto-erasure/osls-print` when absent, none when null. */
  cacheDir?: string | null;
  /** How osls is run; the project's own osls when absent (tests count the runs). */
  runOsls?: OslsRunner;
}

/**
 * osls takes 3 to 4 seconds to print (it loads the whole framework and its plugins), and every start
 * of the embedded AWS needs the same answer: `npm start`, each replay, each e2e test file. So the
 * answer is kept, under a hash of everything it is made from (see `printInputs`), and printed
 * afresh whenever any of that changes.
 */
export async function printServerlessConfig(
  projectRoot: string,
  stage: string,
  region: string,
  params: Record<string, string> = {},
  options: PrintOptions = {},
): Promise<ServerlessConfig> {
  const args = ['print', '--format', 'json', '--stage', stage, '--region', region, ...Object.entries(params).map(([key, value]) => `--param=${key}=${value}`)];
  const runOsls = options.runOsls ?? runProjectOsls;
  const cacheDir = options.cacheDir === undefined ? join(projectRoot, 'node_modules', '.cache', 'crypto-erasure', 'osls-print') : options.cacheDir;
  const inputs = cacheDir === null ? undefined : printInputs(projectRoot);
  const cached = inputs && cacheDir ? join(cacheDir, `${createHash('sha256').update(JSON.stringify({ args, inputs })).digest('hex')}.json`) : undefined;
  const kept = cached === undefined ? undefined : readKept(cached);
  if (kept) return kept;

  const stdout = await runOsls(projectRoot, args);
  const config = JSON.parse(stdout) as ServerlessConfig;
  if (cached) keep(cached, stdout);
  return config;
}

/** A kept answer, or undefined when there is none or it cannot be read: then osls prints afresh. */
function readKept(file: string): ServerlessConfig | undefined {
  try {
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ServerlessConfig) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps an answer, if it can: a read-only node_modules only means printing again next time. */
function keep(file: string, stdout: string): void {
  const aside = `${file}.${process.pid}.tmp`;
  try {
    // Written aside and renamed: test workers printing at once never read half a file.
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(aside, stdout);
    renameSync(aside, file);
  } catch {
    try {
      rmSync(aside, { force: true });
    } catch {
      // There was nowhere to write it either.
    }
  }
}

/**
 * What `osls print` reads, by content: serverless.yml, every file it references with `${file()}`,
 * every project file those require (deploy/settings.cjs requires the settings rules), whole
 * directories referenced (deploy/, statemachines/), and package-lock.json for the versions of osls
 * and its plugins. Undefined (print afresh, keep nothing) when any of them reads the environment:
 * its answer would then depend on more than files.
 */
export function printInputs(projectRoot: string): Record<string, string> | undefined {
  const contents: Record<string, string> = {};
  const pending = ['serverless.yml', 'package.json', 'package-lock.json'];
  for (const directory of ['deploy', 'statemachines']) {
    if (existsSync(join(projectRoot, directory))) pending.push(...readdirSync(join(projectRoot, directory)).map((name) => join(directory, name)));
  }
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (file in contents || !existsSync(join(projectRoot, file))) continue;
    const text = readFileSync(join(projectRoot, file), 'utf8');
    if (/\$\{env:|process\.env/.test(text)) return undefined;
    contents[file] = createHash('sha256').update(text).digest('hex');
    for (const match of text.matchAll(/\$\{file\(([^)]+)\)/g)) pending.push(relative(projectRoot, resolve(projectRoot, match[1]!)));
    for (const match of text.matchAll(/require\((['"])(\.{1,2}\/[^'"]+)\1\)/g)) pending.push(relative(projectRoot, resolve(projectRoot, dirname(file), match[2]!)));
  }
  return contents;
}

const runProjectOsls: OslsRunner = async (projectRoot, args) => {
  const env = {
    ...process.env,
    PATH: `${join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  try {
    const { stdout } = await run(join(projectRoot, 'node_modules', '.bin', 'osls'), args, { cwd: projectRoot, env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    const detail = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.split('\n').filter((line) => line.trim() && !line.trimStart().startsWith('at ')).slice(0, 8).join('\n');
    throw new Error(`serverless.yml could not be resolved by osls:\n${detail || failure.message}`);
  }
};
