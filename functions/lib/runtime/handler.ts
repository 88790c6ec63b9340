import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from './zod.ts';
import { classifyFailure } from '../aws/failures.ts';
import { forgetRememberedChains } from '../ledger/ledger.ts';
import { logger } from './logger.ts';
import { MIDDY_OPTIONS } from './middy-options.ts';

/**
 * The shape every state machine task shares: Powertools context and correlation keys on every log
 * line, the input parsed against its schema, and AWS failures renamed so the state machine's Retry
 * can tell the transient ones (throttling, 5xx) from the rest.
 */
export function erasureTask<Schema extends z.ZodMiniType, Result>(
  schema: Schema,
  task: (input: z.infer<Schema>, context: Context) => Promise<Result>,
) {
  return middy<z.infer<Schema>, Result>(MIDDY_OPTIONS)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(freshLedger())
    .use(correlationKeys())
    .use(failureClassification())
    .use(parser({ schema }))
    .handler(task);
}

/**
 * The shape of a function an EventBridge rule invokes: Powertools context on every log line (with
 * the event's id), the event parsed against its schema, AWS failures renamed as for a task.
 */
export function eventHandler<Schema extends z.ZodMiniType, Result>(schema: Schema, handle: (event: z.infer<Schema>) => Promise<Result>) {
  return middy<z.infer<Schema>, Result>(MIDDY_OPTIONS)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(freshLedger())
    .use(failureClassification())
    .use(parser({ schema }))
    .handler(async (event) => {
      const id = (event as { id?: unknown }).id;
      if (typeof id === 'string') logger.appendKeys({ eventId: id });
      return handle(event);
    });
}

interface TaskEnvelope {
  execution?: unknown;
  request?: { eventId?: unknown; subjectFingerprint?: unknown };
}

/** Reads the correlation ids the state machine passes to every task (see statemachines/erasure.asl.json). */
export function correlationKeys(): MiddlewareObj {
  return {
    before: (request) => {
      const event = (request.event ?? {}) as TaskEnvelope;
      logger.appendKeys({
        executionId: typeof event.execution === 'string' ? event.execution : undefined,
        eventId: typeof event.request?.eventId === 'string' ? event.request.eventId : undefined,
        subject: typeof event.request?.subjectFingerprint === 'string' ? event.request.subjectFingerprint : undefined,
      });
    },
  };
}

/** Each invocation starts from the ledger table as it is, not from chains an earlier one read. */
export function freshLedger(): MiddlewareObj {
  return { before: () => forgetRememberedChains() };
}

export function failureClassification(): MiddlewareObj {
  return {
    onError: (request) => {
      const failure = classifyFailure(request.error);
      const error = failure instanceof Error ? failure : new Error(String(failure));
      logger.error('task failed', { errorName: error.name, errorMessage: error.message });
      request.error = error;
    },
  };
}
