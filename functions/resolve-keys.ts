import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { resolveErasureKeys } from './lib/erasure/key-authorisation.ts';
import { readKeyPolicy } from './lib/erasure/settings.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));

const ResolveKeysInput = z.object({ execution: z.string(), request: ErasureRequestSchema });

export const handler = erasureTask(ResolveKeysInput, async ({ request }, context) => {
  const ownAccountId = context.invokedFunctionArn.split(':')[4] ?? '';
  const keys = await resolveErasureKeys(kms, request, readKeyPolicy(), ownAccountId);
  logger.info('keys authorised', { keys: keys.map((key) => key.keyArn) });
  return keys;
});
