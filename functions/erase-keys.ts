import { SFNClient } from '@aws-sdk/client-sfn';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from './lib/runtime/zod.ts';
import { taskCallbacks } from './lib/aws/erasure-executions.ts';
import { classifyFailure } from './lib/aws/failures.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { ErasureRequestSchema } from './lib/erasure/closure-event.ts';
import { KeyErasureIncomplete, eraseKeysAtPace, type RegionalPace } from './lib/erasure/key-erasure.ts';
import type { ScheduledKey } from './lib/erasure/deletion-scheduling.ts';
import { QuotaPacer } from './lib/erasure/quota-pacing.ts';
import { isImmediateErasure, readKeyPolicy } from './lib/erasure/settings.ts';
import { ErasureKeySchema } from './lib/erasure/task-inputs.ts';
import { forgetRememberedChains } from './lib/ledger/ledger.ts';
import { now, sleep } from './lib/runtime/clock.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { MIDDY_OPTIONS } from './lib/runtime/middy-options.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

/**
 * The one worker that disables and schedules the deletion of every erasure's keys, drained from a
 * FIFO queue (closures keep their order) with reserved concurrency 1, so that one pace governs
 * the account's quota-bound KMS calls: each execution sends its keys here with a task token and
 * waits (statemachines/erasure.asl.json, EraseKeysAtQuotaPace).
 *
 * KMS calls are made once each (no SDK retries): every ThrottlingException must reach the pacer,
 * which waits and tries again. The pace lives as long as the function instance; a new instance
 * starts again from KMS's default quotas.
 */
const kms = kmsKeys(clientConfig({ maxAttempts: 1 }));
const callbacks = taskCallbacks(new SFNClient(clientConfig()));
const ledger = openLedger();
// KMS's default quotas per account and Region (docs/aws-facts.md); each Region the keys live in keeps its own pace.
const paces = new Map<string, RegionalPace>();
function pace(region: string): RegionalPace {
  let regional = paces.get(region);
  if (!regional) {
    regional = {
      disableKey: new QuotaPacer({ initialPerSecond: 5 }, { now, sleep }),
      scheduleKeyDeletion: new QuotaPacer({ initialPerSecond: 15 }, { now, sleep }),
      deleteImportedKeyMaterial: new QuotaPacer({ initialPerSecond: 15 }, { now, sleep }),
    };
    paces.set(region, regional);
  }
  return regional;
}

// A message that fails for want of AWS (a 5xx, the network) goes back to the queue; after this many
// receives the erasure is failed instead, so a closure never waits on the queue forever.
const MAX_RECEIVES = 5;
// Before that, a transient failure is retried in place: 1 s, 2 s, 4 s, 8 s (both KMS calls are
// idempotent, as are the ledger's appends).
const IN_PLACE_ATTEMPTS = 5;
const IN_PLACE_BACKOFF_MS = 1000;

const KeyErasureMessage = z.object({
  taskToken: z.string(),
  execution: z.string(),
  request: ErasureRequestSchema,
  keys: z.array(ErasureKeySchema),
});

async function eraseOrder(record: SQSRecord): Promise<'done' | 'retry'> {
  const parsed = z.safeParse(KeyErasureMessage, safeJson(record.body));
  if (!parsed.success) {
    // Only the state machine writes here; a message it did not write has no token to answer.
    logger.error('key erasure message refused', { messageId: record.messageId, issues: parsed.error.issues.length });
    return 'done';
  }
  const { taskToken, execution, request, keys } = parsed.data;
  logger.appendKeys({ executionId: execution, eventId: request.eventId, subject: request.subjectFingerprint });
  // A stopped execution (cancelled by an operator while its keys queued) touches no key.
  if (!(await callbacks.stillWaiting(taskToken))) {
    logger.info('erasure no longer waits; its keys are left as they are', { keys: keys.length });
    return 'done';
  }
  const policy = readKeyPolicy();
  const order = { execution, subjectFingerprint: request.subjectFingerprint, keys, immediate: isImmediateErasure(policy, request.reason) };
  let done: ScheduledKey[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const erased = await eraseKeysAtPace(order, { kms, ledger, pace, pendingWindowDays: policy.pendingWindowDays, now }, done);
      await callbacks.succeed(taskToken, erased);
      logger.info('keys disabled and scheduled for deletion', { keys: keys.length });
      return 'done';
    } catch (error) {
      // The keys scheduled before the failure are not asked for again, in place or on redelivery.
      if (error instanceof KeyErasureIncomplete) done = error.scheduled;
      const failure = classifyFailure(error instanceof KeyErasureIncomplete ? error.cause : error) as Error;
      const transient = failure.name === 'AwsServerError' || failure.name === 'LedgerContention';
      if (transient && attempt < IN_PLACE_ATTEMPTS) {
        // Retried here first, briefly: a message handed back to the queue is seen again only after
        // the visibility timeout (90 minutes), and in a FIFO queue every erasure behind it waits.
        logger.warn('key erasure retried in place', { errorName: failure.name, errorMessage: failure.message, attempt });
        forgetRememberedChains();
        await sleep(IN_PLACE_BACKOFF_MS * 2 ** (attempt - 1));
        continue;
      }
      if (transient && Number(record.attributes.ApproximateReceiveCount) < MAX_RECEIVES) {
        logger.warn('key erasure will be retried', { errorName: failure.name, errorMessage: failure.message });
        return 'retry';
      }
      // Failed for good: the erasure is told which keys are done and which are not.
      const reported = error instanceof KeyErasureIncomplete && error.scheduled.length > 0 ? error : failure;
      logger.error('key erasure failed', { errorName: reported.name, errorMessage: reported.message });
      await callbacks.fail(taskToken, reported.name || 'Error', reported.message);
      return 'done';
    }
  }
}

// Middy's early timeout is off (MIDDY_OPTIONS says why): in a FIFO queue a batch failed by it holds
// every erasure behind it for the visibility timeout.
export const handler = middy<SQSEvent, SQSBatchResponse>(MIDDY_OPTIONS)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const [index, record] of event.Records.entries()) {
      forgetRememberedChains();
      // Each message is another erasure: no line about it may carry the previous one's ids.
      logger.removeKeys(['executionId', 'eventId', 'subject']);
      let outcome: 'done' | 'retry';
      try {
        outcome = await eraseOrder(record);
      } catch (error) {
        logger.error('key erasure could not be answered', { errorName: (error as Error).name, errorMessage: (error as Error).message });
        outcome = 'retry';
      }
      if (outcome === 'retry') {
        // In a FIFO queue the messages after a failed one must wait for it: return them all.
        batchItemFailures.push(...event.Records.slice(index).map((failed) => ({ itemIdentifier: failed.messageId })));
        break;
      }
    }
    return { batchItemFailures };
  });

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
