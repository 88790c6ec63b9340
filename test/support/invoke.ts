import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

type Handler = (event: never, context: Context) => Promise<unknown>;

/** Invokes a handler as Lambda would, with a context naming the function. */
export function invoke(handler: Handler, event: unknown, functionName = 'crypto-erasure-test-fn'): Promise<unknown> {
  return handler(event as never, lambdaContext(functionName));
}

/**
 * Captures what the handlers log (Powertools writes JSON lines to stdout, errors to stderr) while `work` runs. The
 * test file must have set POWERTOOLS_LOG_LEVEL before importing the handlers.
 */
export async function captureLogs(work: () => Promise<unknown>): Promise<string> {
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
    await work().catch(() => undefined);
  } finally {
    streams.forEach((stream, index) => {
      stream.write = writes[index] as typeof stream.write;
    });
  }
  return lines.join('');
}
