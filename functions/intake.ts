import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { erasureExecutions } from './lib/aws/erasure-executions.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { ClosureEvent, acceptClosure, type ParsedClosure } from './lib/erasure/closure-event.ts';
import { admitClosure } from './lib/erasure/closure-admission.ts';
import { readIntakeConfig, readNotificationConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { failureClassification } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';

const sfn = new SFNClient({});
const publisher = notificationPublisher(new SNSClient({}));
const ledger = openLedger();

/**
 * EventBridge → the ledger → Step Functions. A malformed event fails with ClosureEventInvalid, so
 * Lambda's on-failure destination puts it in the dead-letter queue: refused loudly, never dropped.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(failureClassification())
  .use(parser({ schema: ClosureEvent, safeParse: true }))
  .handler(async (parsed) => {
    const config = readIntakeConfig();
    const request = acceptClosure(parsed as ParsedClosure, config.allowedEventSources);
    logger.appendKeys({ eventId: request.eventId, subject: request.subjectFingerprint });

    const admission = await admitClosure(request, {
      executions: erasureExecutions(sfn, config.stateMachineArn),
      ledger,
      publisher,
      config: readNotificationConfig(),
      now: now(),
    });
    logger.info('closure admitted', { ...admission });
    return admission;
  });
