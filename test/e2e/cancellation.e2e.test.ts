import { CancelKeyDeletionCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { executionName, fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, notificationsOf, publishClosure, sampleClosure, waitFor } from '../support/embedded.ts';

const DAY = 86_400_000;

describe('an operator cancelling during the waiting period', () => {
  // An embedded AWS on a clock that does not run ahead (and so a file of its own: one embedded AWS
  // per process): the cancellation cannot lose a race against a loaded machine; the waiting
  // period is passed by moving the clock on.
  let slow: EmbeddedAws;
  beforeAll(async () => {
    slow = await startEmbeddedAws({ timeScale: 1, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  }, 60_000);
  afterAll(async () => slow?.close());

  it('gets a cancelled notification, and the key is left Disabled', async () => {
    const slowKms = new KMSClient(slow.clientConfig);
    const key = await createSubjectKey(slowKms, 'e2e-cancel');
    await publishClosure(slow, sampleClosure('e2e-cancel').detail);
    await waitFor(() => notificationsOf(slow, 'ErasureNotificationsTopic', fingerprintSubject('e2e-cancel')).length > 0, 'the scheduled notification');
    await slowKms.send(new CancelKeyDeletionCommand({ KeyId: key.keyId }));
    slow.clock.advance(31 * DAY);
    await slow.idle();

    expect((await slowKms.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
    const executions = slow.stepFunctions.executionsOf(slow.arnOf('ErasureStateMachine'));
    expect(executions).toEqual([expect.objectContaining({ name: executionName(fingerprintSubject('e2e-cancel'), 1), status: 'SUCCEEDED' })]);
    const notifications = notificationsOf(slow, 'ErasureNotificationsTopic', fingerprintSubject('e2e-cancel'));
    expect(notifications.map((notification) => notification.kind)).toEqual(['scheduled', 'cancelled']);
    expect(notifications[1]?.body.keys).toEqual([expect.objectContaining({ fate: 'DeletionCancelled', keyState: 'Disabled' })]);
  });
});
