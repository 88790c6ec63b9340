import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { AwsServiceError, type ServiceCall } from '../../embedded-aws/protocol.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, keyStateOf, notificationsOf, publishClosure, sampleClosure } from '../support/embedded.ts';

/**
 * The fault points of the embedded AWS, seen from the pipeline: transient failures of KMS and of
 * the Lambda service are retried by the state machine, and the erasure still completes.
 */
let aws: EmbeddedAws;
const injected: ServiceCall[] = [];
let faulty: (call: ServiceCall) => boolean = () => false;

beforeAll(async () => {
  aws = await startEmbeddedAws({
    timeScale: 1_000_000,
    environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    log: () => undefined,
    faults: (call) => {
      if (!faulty(call)) return undefined;
      injected.push(call);
      return call.service === 'lambda'
        ? new AwsServiceError('TooManyRequestsException', 'Rate exceeded', 429)
        : new AwsServiceError('ThrottlingException', 'Rate exceeded');
    },
  });
}, 60_000);
afterAll(async () => aws?.close());

describe('injected faults', () => {
  it('are retried by the state machine: throttled ScheduleKeyDeletion and a throttled Lambda service', async () => {
    const kms = new KMSClient({ ...aws.clientConfig, maxAttempts: 1 });
    const key = await createSubjectKey(kms, 'fault-throttled');
    let kmsFaults = 4;
    let lambdaFaults = 2;
    faulty = (call) =>
      (call.operation === 'ScheduleKeyDeletion' && kmsFaults-- > 0) ||
      (call.service === 'lambda' && String(call.input.FunctionName).endsWith('-disableKey') && lambdaFaults-- > 0);

    await publishClosure(aws, sampleClosure('fault-throttled').detail);
    await aws.idle();
    faulty = () => false;

    expect(injected.filter((call) => call.service === 'lambda')).toHaveLength(2);
    expect(injected.filter((call) => call.operation === 'ScheduleKeyDeletion')).toHaveLength(4);
    expect(await keyStateOf(kms, key.keyId)).toBe('NotFoundException');
    const kinds = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('fault-throttled')).map((notification) => notification.kind);
    expect(kinds).toEqual(['scheduled', 'completed']);
  });
});
