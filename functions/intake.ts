import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { rejectClosure } from './lib/alerts/closure-rejection.ts';
import { alertStateTable } from './lib/aws/alert-state-table.ts';
import { deadLetterQueue } from './lib/aws/dead-letter-queue.ts';
import { erasureExecutions } from './lib/aws/erasure-executions.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { ClosureEvent, acceptClosure, type ParsedClosure } from './lib/erasure/closure-event.ts';
import { admitClosure } from './lib/erasure/closure-admission.ts';
import { ClosureEventInvalid } from './lib/erasure/errors.ts';
import { readAlertConfig, readIntakeConfig, readNotificationConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { failureClassification, freshLedger } from './lib/runtime/handler.ts';
import { MIDDY_OPTIONS } from './lib/runtime/middy-options.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const sfn = new SFNClient(clientConfig());
const publisher = notificationPublisher(new SNSClient(clientConfig()));
const ledger = openLedger();
const config = readIntakeConfig();
const deadLetters = deadLetterQueue(new SQSClient(clientConfig()), config.deadLetterQueueUrl);
const alertState = alertStateTable(new DynamoDBClient(clientConfig()), readAlertConfig().alertStateTableName);

/**
 * EventBridge → the ledger → Step Functions. Every event on the closure bus reaches intake: the
 * closure rule's, and a second rule's for whatever the first does not take (a wrong detail-type, a
 * source not allowed). One that breaks the contract is refused with ClosureEventInvalid into the
 * dead-letter queue, once, not retried: refused loudly, never dropped.
 */
export const handler = middy(MIDDY_OPTIONS)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(freshLedger())
  .use(failureClassification())
  .use(parser({ schema: ClosureEvent, safeParse: true }))
  .handler(async (parsed) => {
    const closure = parsed as ParsedClosure & { originalEvent?: unknown };
    let request;
    try {
      request = acceptClosure(closure, config.allowedEventSources);
    } catch (error) {
      if (!(error instanceof ClosureEventInvalid)) throw error;
      const event = closure.success ? closure.data : closure.originalEvent;
      const rejection = await rejectClosure(event, error, { deadLetters, alertState, ledger, now: now() });
      logger.error('closure rejected', { ...rejection });
      return rejection;
    }
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
