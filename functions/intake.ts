import { SFNClient } from '@aws-sdk/client-sfn';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { erasureExecutions } from './lib/aws/erasure-executions.ts';
import { ClosureEvent, acceptClosure, type ParsedClosure } from './lib/erasure/closure-event.ts';
import { startErasure } from './lib/erasure/erasure-start.ts';
import { readIntakeConfig } from './lib/erasure/settings.ts';
import { failureClassification } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';

const sfn = new SFNClient({});

/**
 * EventBridge → Step Functions. A malformed event fails with ClosureEventInvalid, so Lambda's
 * on-failure destination puts it in the dead-letter queue: refused loudly, never dropped.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(failureClassification())
  .use(parser({ schema: ClosureEvent, safeParse: true }))
  .handler(async (parsed) => {
    const config = readIntakeConfig();
    const request = acceptClosure(parsed as ParsedClosure, config.allowedEventSources);
    logger.appendKeys({ eventId: request.eventId, subject: request.subjectFingerprint });

    const start = await startErasure(erasureExecutions(sfn, config.stateMachineArn), request);
    logger.info('closure accepted', { outcome: start.outcome, executionName: start.executionName });
    return start;
  });
