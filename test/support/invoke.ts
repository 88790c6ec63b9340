import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

type Handler = (event: never, context: Context) => Promise<unknown>;

/** Invokes a handler as Lambda would, with a context naming the function. */
export function invoke(handler: Handler, event: unknown, functionName = 'crypto-erasure-test-fn'): Promise<unknown> {
  return handler(event as never, lambdaContext(functionName));
}

/**
 * Captures what the handlers log (Powertools writes JSON lines to stdout, errors to stderr) while
 * `work` runs, and how the work ended. The test file must have set POWERTOOLS_LOG_LEVEL before
 * importing the handlers.
 */
export async function captureLogs<T>(work: () => Promise<T>): Promise<{ logs: string; outcome: PromiseSettledResult<T> }> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    const [outcome] = await Promise.allSettled([work()]);
    return { logs: lines.join(''), outcome: outcome as PromiseSettledResult<T> };
  } finally {
    streams.forEach((stream, index) => {
      stream.write = writes[index] as typeof stream.write;
    });
  }
}
