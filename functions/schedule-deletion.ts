import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { scheduleErasureKeyDeletion } from './lib/erasure/deletion-scheduling.ts';
import { readKeyPolicy } from './lib/erasure/settings.ts';
import { ErasureKeySchema } from './lib/erasure/task-inputs.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));

const ScheduleDeletionInput = z.object({ execution: z.string(), request: ErasureRequestSchema, key: ErasureKeySchema });

export const handler = erasureTask(ScheduleDeletionInput, async ({ key }) => {
  const scheduled = await scheduleErasureKeyDeletion(kms, key, readKeyPolicy().pendingWindowDays);
  logger.info('key deletion scheduled', {
    keyArn: key.keyArn,
    deletionDate: scheduled.deletionDate,
    alreadyScheduled: scheduled.alreadyScheduled,
  });
  return scheduled;
});
