import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { verifyErasure } from './lib/erasure/deletion-verification.ts';
import { ScheduledKeySchema } from './lib/erasure/task-inputs.ts';
import { now } from './lib/runtime/clock.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));

const CheckDeletionInput = z.object({ execution: z.string(), request: ErasureRequestSchema, keys: z.array(ScheduledKeySchema) });

export const handler = erasureTask(CheckDeletionInput, async ({ keys }) => {
  const verification = await verifyErasure(kms, keys, now());
  logger.info('deletion checked', { status: verification.status, nextCheckAt: verification.nextCheckAt });
  return verification;
});
