import { SNSClient } from '@aws-sdk/client-sns';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { auditKeys } from './lib/alerts/key-audit.ts';
import { kmsKeys } from './lib/aws/kms-keys.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { readAlertConfig, readKeyPolicy, readNotificationConfig } from './lib/erasure/settings.ts';
import { now } from './lib/runtime/clock.ts';
import { failureClassification, freshLedger } from './lib/runtime/handler.ts';
import { MIDDY_OPTIONS } from './lib/runtime/middy-options.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const kms = kmsKeys(clientConfig());
const publisher = notificationPublisher(new SNSClient(clientConfig()));
const ledger = openLedger();

/** A schedule (daily by default) → the audit of keys pending deletion and subject aliases. */
export const handler = middy(MIDDY_OPTIONS)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(freshLedger())
  .use(failureClassification())
  .handler(async () => {
    const { subjectTagKey, aliasPrefix } = readKeyPolicy();
    const audit = await auditKeys({
      kms,
      ledger,
      publisher,
      config: { ...readNotificationConfig(), subjectTagKey, aliasPrefix, stage: readAlertConfig().stage },
      now: now(),
    });
    logger.info('keys audited', {
      keysExamined: audit.keysExamined,
      ours: audit.ours.length,
      strays: audit.strays.map((key) => key.keyArn),
      aliasTagMismatches: audit.aliasTagMismatches.length,
      messageId: audit.messageId,
    });
    return { keysExamined: audit.keysExamined, ours: audit.ours.length, strays: audit.strays.length, aliasTagMismatches: audit.aliasTagMismatches.length, messageId: audit.messageId };
  });
