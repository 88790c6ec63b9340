import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { disableErasureKey } from './lib/erasure/deletion-scheduling.ts';
import { ErasureKeySchema } from './lib/erasure/task-inputs.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));

const DisableKeyInput = z.object({ execution: z.string(), request: ErasureRequestSchema, key: ErasureKeySchema });

export const handler = erasureTask(DisableKeyInput, async ({ key }) => {
  const disabled = await disableErasureKey(kms, key);
  logger.info('key disabled', { keyArn: key.keyArn, outcome: disabled.outcome });
  return disabled;
});
