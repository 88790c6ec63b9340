import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { scheduleErasureKeyDeletion } from './lib/erasure/deletion-scheduling.ts';
import { readKeyPolicy } from './lib/erasure/settings.ts';
import { ErasureKeySchema } from './lib/erasure/task-inputs.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));
const ledger = openLedger();

const ScheduleDeletionInput = z.object({ execution: z.string(), request: ErasureRequestSchema, key: ErasureKeySchema });

export const handler = erasureTask(ScheduleDeletionInput, async ({ execution, request, key }) => {
  const scheduled = await scheduleErasureKeyDeletion(kms, key, readKeyPolicy().pendingWindowDays);
  const { keyArn, deletionDate, pendingWindowDays, alreadyScheduled } = scheduled;
  await ledger.record(request.subjectFingerprint, execution, { type: 'KeyDeletionScheduled', keyArn, deletionDate, pendingWindowDays, alreadyScheduled });
  logger.info('key deletion scheduled', { keyArn, deletionDate, alreadyScheduled });
  return scheduled;
});
