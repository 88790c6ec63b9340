import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

/**
 * Lambda functions run in-process: the embedded AWS imports the very handler modules that
 * serverless.yml names and calls them as Lambda would, with a context and Lambda's error shape.
 */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalFunction {
  /** The key under `functions:` in serverless.yml, e.g. `resolveKeys`. */
  key: string;
  /** The deployed function name, e.g. `crypto-erasure-dev-resolveKeys`. */
  functionName: string;
  /** `functions/resolve-keys.handler`: a module path without extension, then the export. */
  handler: string;
  arn: string;
  /** The function's timeout as deployed (serverless.yml's `timeout`); 30 seconds when not given. */
  timeoutSeconds?: number;
}

/** The clock an invocation's time runs on: the embedded AWS's virtual clock, or the system's. */
export interface InvocationClock {
  now(): Date;
}

const systemClock: InvocationClock = { now: () => new Date() };

export function functionArn(region: string, accountId: string, functionName: string): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
}

/** Imports the handler that `functions/<file>.<export>` names, from the TypeScript source. */
/**
 * Loads a function's handler module. `instance` names the Lambda execution environment it is
 * loaded into: each embedded AWS loads its own, as each deployment starts cold on AWS, so what a
 * handler keeps at module scope (its SDK clients and their endpoint, the key erasure worker's pace)
 * never outlives the embedded AWS it was loaded for. Only the handler's own module is loaded anew;
 * the modules it imports are shared.
 */
export async function loadHandler(projectRoot: string, handler: string, instance = 0): Promise<LambdaHandler> {
  const dot = handler.lastIndexOf('.');
  const modulePath = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const url = pathToFileURL(resolve(projectRoot, `${modulePath}.ts`));
  if (instance > 0) url.searchParams.set('environment', String(instance));
  const module = (await import(url.href)) as Record<string, unknown>;
  const exported = module[exportName];
  if (typeof exported !== 'function') throw new Error(`${modulePath}.ts has no function export ${exportName}`);
  return exported as LambdaHandler;
}

/**
 * The context of one invocation. Its remaining time is the function's own timeout less the time
 * the invocation has taken, on the clock the invocation runs on: the embedded AWS's clock is
 * virtual, so a handler that reads it (Middy's early timeout does, before every handler) sees the
 * time Lambda would give it, not the host's wall clock, which a busy simulation spends much faster.
 */
export function lambdaContext(fn: LocalFunction, clock: InvocationClock = systemClock): Context {
  const nowMs = () => clock.now().getTime();
  const deadline = nowMs() + (fn.timeoutSeconds ?? 30) * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: 'embedded',
    getRemainingTimeInMillis: () => Math.max(0, deadline - nowMs()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * A function's failure as Step Functions sees it: the error name becomes the state's Error, and
 * the Cause is the JSON Lambda reports ({errorType, errorMessage, trace}).
 */
export class LambdaFunctionError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;

  constructor(errorType: string, errorMessage: string, trace: string[]) {
    super(JSON.stringify({ errorType, errorMessage, trace }));
    this.name = errorType;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }

  static from(error: unknown): LambdaFunctionError {
    if (error instanceof LambdaFunctionError) return error;
    const failure = error instanceof Error ? error : new Error(String(error));
    return new LambdaFunctionError(failure.name || 'Error', failure.message, (failure.stack ?? '').split('\n').slice(1, 6).map((line) => line.trim()));
  }
}

/** Invokes a handler synchronously (RequestResponse), as a Step Functions Lambda task does. */
export async function invokeForResult(handler: LambdaHandler, fn: LocalFunction, payload: unknown, clock?: InvocationClock): Promise<unknown> {
  try {
    // A JSON round trip, as over the wire: the handler gets no shared references, and returns JSON.
    const result = await handler(JSON.parse(JSON.stringify(payload ?? null)), lambdaContext(fn, clock));
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  } catch (error) {
    throw LambdaFunctionError.from(error);
  }
}
