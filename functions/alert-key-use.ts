import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { RefusedKmsCall, alertOnKeyUse } from './lib/alerts/key-use-alert.ts';
import { EventBridgeEventSchema } from './lib/aws/eventbridge-event.ts';
import { alertStateTable } from './lib/aws/alert-state-table.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { readAlertConfig, readKeyPolicy, readNotificationConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { eventHandler } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import * as z from './lib/runtime/zod.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const kms = kmsKeys(clientConfig());
const publisher = notificationPublisher(new SNSClient(clientConfig()));
const ledger = openLedger();
const alerts = readAlertConfig();
const alertState = alertStateTable(new DynamoDBClient(clientConfig()), alerts.alertStateTableName);

const RefusedCallEvent = z.extend(EventBridgeEventSchema, { detail: RefusedKmsCall });

/** EventBridge (CloudTrail: a KMS call refused) → on-call, when the key is pending deletion. */
export const handler = eventHandler(RefusedCallEvent, async (event) => {
  const outcome = await alertOnKeyUse(event.detail, event.id, {
    kms,
    ledger,
    alertState,
    publisher,
    config: { ...readNotificationConfig(), ...alerts, subjectTagKey: readKeyPolicy().subjectTagKey },
    now: now(),
  });
  logger.info('refused key use handled', { ...outcome });
  return outcome;
});
