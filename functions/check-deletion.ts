import * as z from './lib/runtime/zod.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { verifyErasure } from './lib/erasure/deletion-verification.ts';
import { ScheduledKeySchema } from './lib/erasure/task-inputs.ts';
import { now } from './lib/runtime/clock.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const kms = kmsKeys(clientConfig());
const ledger = openLedger();

const CheckDeletionInput = z.object({ execution: z.string(), request: ErasureRequestSchema, keys: z.array(ScheduledKeySchema) });

export const handler = erasureTask(CheckDeletionInput, async ({ execution, request, keys }) => {
  const verification = await verifyErasure(kms, keys, now());
  if (verification.status === 'Deleted') {
    // The proof of the erasure, recorded as soon as KMS gives it: the certificate is built from it.
    await ledger.record(request.subjectFingerprint, execution, {
      type: 'DeletionVerified',
      checkedAt: verification.checkedAt,
      keys: verification.keys.map((key) => ({ keyArn: key.keyArn, verifiedDeletedAt: verification.checkedAt })),
    });
  }
  logger.info('deletion checked', { status: verification.status, nextCheckAt: verification.nextCheckAt });
  return verification;
});
