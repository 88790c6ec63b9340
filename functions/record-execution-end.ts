import { SNSClient } from '@aws-sdk/client-sns';
import { EventBridgeEventSchema } from './lib/aws/eventbridge-event.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { ExecutionStatusChange, recordExecutionEnd } from './lib/erasure/execution-end.ts';
import { readAlertConfig, readNotificationConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { eventHandler } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import * as z from './lib/runtime/zod.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const kms = kmsKeys(clientConfig());
const publisher = notificationPublisher(new SNSClient(clientConfig()));
const ledger = openLedger();
const { stage } = readAlertConfig();

const StatusChangeEvent = z.extend(EventBridgeEventSchema, { detail: ExecutionStatusChange });

/** EventBridge (aws.states, Execution Status Change: ABORTED, TIMED_OUT, FAILED) → the ledger and on-call. */
export const handler = eventHandler(StatusChangeEvent, async (event) => {
  logger.appendKeys({ executionId: event.detail.executionArn });
  const outcome = await recordExecutionEnd(event.detail, { kms, ledger, publisher, config: readNotificationConfig(), stage, now: now() });
  logger.info('execution end recorded', { ...outcome });
  return outcome;
});
