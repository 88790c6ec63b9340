import * as z from './lib/runtime/zod.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { recordExecutionStart } from './lib/erasure/erasure-start.ts';
import { resolveErasureKeys } from './lib/erasure/key-authorisation.ts';
import { readKeyPolicy } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const kms = kmsKeys(clientConfig());
const ledger = openLedger();

const ResolveKeysInput = z.object({ execution: z.string(), request: ErasureRequestSchema });

export const handler = erasureTask(ResolveKeysInput, async ({ execution, request }, context) => {
  await recordExecutionStart(ledger, request, execution, now());
  const ownAccountId = context.invokedFunctionArn.split(':')[4] ?? '';
  const keys = await resolveErasureKeys(kms, request, readKeyPolicy(), ownAccountId);
  await ledger.record(request.subjectFingerprint, execution, { type: 'KeysResolved', keys });
  logger.info('keys authorised', { keys: keys.map((key) => key.keyArn) });
  return keys;
});
