import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { recordKeyDeletion } from './lib/alerts/key-deletion-record.ts';
import { alertStateTable } from './lib/aws/alert-state-table.ts';
import { taskCallbacks } from './lib/aws/erasure-executions.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { wakeIfDeleted } from './lib/erasure/key-deletion-wait.ts';
import { readAlertConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';
import { EventBridgeEventSchema } from './lib/aws/eventbridge-event.ts';
import { eventHandler } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import * as z from './lib/runtime/zod.ts';

const ledger = openLedger();
const kms = kmsKeys(clientConfig());
const callbacks = taskCallbacks(new SFNClient(clientConfig()));
const alertState = alertStateTable(new DynamoDBClient(clientConfig()), readAlertConfig().alertStateTableName);

// KMS CMK Deletion: detail holds only `key-id`; the key's ARN is in `resources` (docs/aws-facts.md).
const KeyDeletionEvent = z.extend(EventBridgeEventSchema, { resources: z.array(z.string().check(z.startsWith('arn:'))).check(z.minLength(1)) });

/**
 * EventBridge (aws.kms, KMS CMK Deletion) → the ledger of the erasure that scheduled it, and a wake
 * for that erasure if this was the last of its keys (see key-deletion-wait.ts).
 */
export const handler = eventHandler(KeyDeletionEvent, async (event) => {
  const recorded = await recordKeyDeletion(event.resources[0]!, event.time, event.id, ledger);
  const woken = [];
  for (const erasure of recorded.erasures) woken.push(await wakeIfDeleted(erasure, { alertState, kms, callbacks, now }));
  logger.info('key deletion recorded', { keyArn: recorded.keyArn, recordedFor: recorded.recordedFor, woken });
  return { ...recorded, woken };
});
