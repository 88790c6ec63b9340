import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import * as z from './lib/runtime/zod.ts';
import { alertStateTable } from './lib/aws/alert-state-table.ts';
import { taskCallbacks } from './lib/aws/erasure-executions.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { readAlertConfig } from './lib/erasure/settings.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { awaitKeyDeletion } from './lib/erasure/key-deletion-wait.ts';
import { ScheduledKeySchema } from './lib/erasure/task-inputs.ts';
import { now } from './lib/runtime/clock.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const kms = kmsKeys(clientConfig());
const callbacks = taskCallbacks(new SFNClient(clientConfig()));
const alertState = alertStateTable(new DynamoDBClient(clientConfig()), readAlertConfig().alertStateTableName);

const AwaitKeyDeletionInput = z.object({
  taskToken: z.string(),
  execution: z.string(),
  request: ErasureRequestSchema,
  keys: z.array(ScheduledKeySchema),
});

/** The AwaitKeyDeletion states' callback: remembers the token for recordKeyDeletion to wake. */
export const handler = erasureTask(AwaitKeyDeletionInput, async ({ taskToken, execution, keys }) => {
  // The erasure is named as the ledger names it: its execution's ARN.
  const outcome = await awaitKeyDeletion(execution, taskToken, keys.map((key) => key.keyArn), { alertState, kms, callbacks, now });
  logger.info('waiting for KMS to delete the keys', { keys: keys.length, outcome });
  return { outcome };
});
