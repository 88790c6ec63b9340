import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import middy from '@middy/core';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { ExecutionStatusChange, recordExecutionEnd } from './lib/erasure/execution-end.ts';
import { readNotificationConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { failureClassification } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));
const publisher = notificationPublisher(new SNSClient({}));
const ledger = openLedger();

const StatusChangeEvent = EventBridgeSchema.extend({ detail: ExecutionStatusChange });

/** EventBridge (aws.states, Execution Status Change: ABORTED, TIMED_OUT, FAILED) → the ledger and on-call. */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(failureClassification())
  .use(parser({ schema: StatusChangeEvent }))
  .handler(async (event) => {
    logger.appendKeys({ executionId: event.detail.executionArn, eventId: event.id });
    const outcome = await recordExecutionEnd(event.detail, { kms, ledger, publisher, config: readNotificationConfig(), now: now() });
    logger.info('execution end recorded', { ...outcome });
    return outcome;
  });
