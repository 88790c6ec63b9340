import { CancelKeyDeletionCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { AwsServiceError, type ServiceCall } from '../../embedded-aws/protocol.ts';
import { executionName, fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, notificationsOf, publishClosure, sampleClosure } from '../support/embedded.ts';

const HOUR = 3_600_000;
let faultOf: (call: ServiceCall) => AwsServiceError | undefined = () => undefined;

describe('an operator cancelling or stopping an erasure', () => {
  // An embedded AWS on the discrete clock: time moves only when the test runs it on, so the
  // cancellation comes exactly during the waiting period, however loaded the machine.
  let aws: EmbeddedAws;
  beforeAll(async () => {
    aws = await startEmbeddedAws({ environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined, faults: (call) => faultOf(call) });
  }, 60_000);
  afterAll(async () => aws?.close());

  it('gets a cancelled notification, and the key is left Disabled', async () => {
    const kms = new KMSClient(aws.clientConfig);
    const key = await createSubjectKey(kms, 'e2e-cancel');
    await publishClosure(aws, sampleClosure('e2e-cancel').detail);
    // An hour into the 30-day waiting period: the key is scheduled, and the subject told.
    await aws.runUntil(new Date(aws.clock.now().getTime() + HOUR));
    expect(notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('e2e-cancel')).map((notification) => notification.kind)).toEqual(['scheduled']);
    await kms.send(new CancelKeyDeletionCommand({ KeyId: key.keyId }));
    await aws.runToCompletion();

    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
    const executions = aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine'));
    expect(executions).toEqual([expect.objectContaining({ name: executionName(fingerprintSubject('e2e-cancel'), 1), status: 'SUCCEEDED' })]);
    const notifications = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('e2e-cancel'));
    expect(notifications.map((notification) => notification.kind)).toEqual(['scheduled', 'cancelled']);
    expect(notifications[1]?.body.keys).toEqual([expect.objectContaining({ fate: 'DeletionCancelled', keyState: 'Disabled' })]);
  });

  it('touches no key of an erasure stopped while its keys wait in the key erasure queue', async () => {
    const kms = new KMSClient(aws.clientConfig);
    const key = await createSubjectKey(kms, 'e2e-stopped');
    // The worker's first batch fails (a Lambda service fault): the keys go back to the queue for
    // its visibility timeout (90 minutes), and the execution waits on its task token meanwhile.
    let failedBatches = 0;
    faultOf = (call) => {
      if (call.service !== 'lambda' || !String(call.input.FunctionName).endsWith('-eraseKeys') || failedBatches > 0) return undefined;
      failedBatches++;
      return new AwsServiceError('ServiceException', 'Lambda was unable to run the function', 500);
    };
    await publishClosure(aws, sampleClosure('e2e-stopped').detail);
    await aws.runUntil(new Date(aws.clock.now().getTime() + 60_000));
    faultOf = () => undefined;
    expect(failedBatches).toBe(1);

    const sfn = new SFNClient(aws.clientConfig);
    const executionArn = aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).find((execution) => execution.name === executionName(fingerprintSubject('e2e-stopped'), 1))?.executionArn;
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'the operator stops it' }));
    await aws.runUntil(new Date(aws.clock.now().getTime() + 2 * HOUR));

    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
    // Delivered again and taken off the queue, not left to come back for ever.
    expect(aws.queues.messages(aws.arnOf('KeyErasureQueue'))).toEqual([]);
    // Told it was stopped; never that it was scheduled.
    expect(notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('e2e-stopped')).map((notification) => notification.kind)).toEqual(['stopped']);
  });
});
