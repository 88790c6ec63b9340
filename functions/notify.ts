import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';
import { kmsCertificateSigner } from './lib/aws/certificate-signer.ts';
import { notificationPublisher } from './lib/aws/notification-publisher.ts';
import { reportErasure, type ErasureReport } from './lib/erasure/erasure-reporting.ts';
import { readCertificateConfig, readNotificationConfig } from './lib/erasure/settings.ts';
import { NotifyInput } from './lib/erasure/task-inputs.ts';
import { now } from './lib/runtime/clock.ts';
import { erasureTask } from './lib/runtime/handler.ts';
import { openLedger } from './lib/runtime/ledger.ts';
import { logger } from './lib/runtime/logger.ts';
import { clientConfig } from './lib/runtime/aws-clients.ts';

const publisher = notificationPublisher(new SNSClient(clientConfig()));
const ledger = openLedger();
const certificates = readCertificateConfig();
const signer = kmsCertificateSigner(new KMSClient(clientConfig()), certificates.signingKeyArn);

export const handler = erasureTask(NotifyInput, async (report) => {
  const outcome = await reportErasure(report as ErasureReport, {
    ledger,
    publisher,
    signer,
    config: readNotificationConfig(),
    performedBy: certificates.eraserRoleArn,
    now: now(),
  });
  logger.info('notified', { ...outcome });
  return outcome;
});
