import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { z } from 'zod';
import { recordKeyDeletion } from './lib/alerts/key-deletion-record.ts';
import { eventHandler } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';

const ledger = openLedger();

// KMS CMK Deletion: detail holds only `key-id`; the key's ARN is in `resources` (AWS-FACTS).
const KeyDeletionEvent = EventBridgeSchema.extend({ resources: z.array(z.string().startsWith('arn:')).min(1) });

/** EventBridge (aws.kms, KMS CMK Deletion) → the ledger of the erasure that scheduled it. */
export const handler = eventHandler(KeyDeletionEvent, async (event) => {
  const recorded = await recordKeyDeletion(event.resources[0]!, event.time, event.id, ledger);
  logger.info('key deletion recorded', { ...recorded });
  return recorded;
});
