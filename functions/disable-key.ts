import { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { disableErasureKey } from './lib/erasure/deletion-scheduling.ts';
import { ErasureKeySchema } from './lib/erasure/task-inputs.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';

const kms = kmsKeys(new KMSClient({}));
const ledger = openLedger();

const DisableKeyInput = z.object({ execution: z.string(), request: ErasureRequestSchema, key: ErasureKeySchema });

export const handler = erasureTask(DisableKeyInput, async ({ execution, request, key }) => {
  const disabled = await disableErasureKey(kms, key);
  await ledger.record(request.subjectFingerprint, execution, { type: 'KeyDisabled', keyArn: key.keyArn, outcome: disabled.outcome });
  logger.info('key disabled', { keyArn: key.keyArn, outcome: disabled.outcome });
  return disabled;
});
