import { KMSClient } from '@aws-sdk/client-kms';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { AwsServiceError, type ServiceCall } from '../../embedded-aws/protocol.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { createSubjectKey, keyStateOf, notificationsOf, publishClosure, sampleClosure } from '../support/embedded.ts';

/**
 * The fault points of the embedded AWS, seen from the pipeline: KMS throttling is waited out by the
 * key erasure worker's pace, transient failures of the Lambda and SQS services are retried (by the
 * state machine, or by the queue handing a batch back), and the erasure still completes.
 */
let aws: EmbeddedAws;
const injected: ServiceCall[] = [];
let faultOf: (call: ServiceCall) => AwsServiceError | undefined = () => undefined;

beforeAll(async () => {
  // The discrete clock: time moves only in runToCompletion, so a handler's real milliseconds are
  // never hours of visibility timeouts and task timeouts.
  aws = await startEmbeddedAws({
    environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    log: () => undefined,
    faults: (call) => {
      const fault = faultOf(call);
      if (fault) injected.push(call);
      return fault;
    },
  });
}, 60_000);
afterAll(async () => aws?.close());

const invokes = (call: ServiceCall, functionKey: string) => call.service === 'lambda' && String(call.input.FunctionName).endsWith(`-${functionKey}`);

describe('injected faults', () => {
  it('are waited out when KMS throttles the key erasure worker, without the state machine seeing them', async () => {
    const kms = new KMSClient({ ...aws.clientConfig, maxAttempts: 1 });
    const key = await createSubjectKey(kms, 'fault-throttled');
    let kmsFaults = 4;
    faultOf = (call) => (call.operation === 'ScheduleKeyDeletion' && kmsFaults-- > 0 ? new AwsServiceError('ThrottlingException', 'Rate exceeded') : undefined);

    await publishClosure(aws, sampleClosure('fault-throttled').detail);
    await aws.runToCompletion();
    faultOf = () => undefined;

    expect(injected.filter((call) => call.operation === 'ScheduleKeyDeletion')).toHaveLength(4);
    expect(await keyStateOf(kms, key.keyId)).toBe('NotFoundException');
    const kinds = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('fault-throttled')).map((notification) => notification.kind);
    expect(kinds).toEqual(['scheduled', 'completed']);
    const [execution] = aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).filter((candidate) => candidate.name === `erasure-${fingerprintSubject('fault-throttled')}`);
    const history = await new SFNClient(aws.clientConfig).send(new GetExecutionHistoryCommand({ executionArn: execution?.executionArn }));
    expect(history.events?.filter((event) => event.type === 'TaskFailed')).toEqual([]);
  });

  it('are retried when the Lambda and SQS services fail for a while: a throttled task, a lost SendMessage, a failed batch', async () => {
    const kms = new KMSClient({ ...aws.clientConfig, maxAttempts: 1 });
    const key = await createSubjectKey(kms, 'fault-services');
    let resolveKeysFaults = 2;
    let sendFaults = 1;
    let batchFaults = 1;
    faultOf = (call) => {
      if (invokes(call, 'resolveKeys') && resolveKeysFaults-- > 0) return new AwsServiceError('TooManyRequestsException', 'Rate exceeded', 429);
      if (call.service === 'sqs' && call.operation === 'SendMessage' && String(call.input.QueueUrl).includes('key-erasures') && sendFaults-- > 0) {
        return new AwsServiceError('InternalError', 'We encountered an internal error. Please try again.', 500);
      }
      if (invokes(call, 'eraseKeys') && batchFaults-- > 0) return new AwsServiceError('ServiceException', 'Lambda was unable to run the function', 500);
      return undefined;
    };

    await publishClosure(aws, sampleClosure('fault-services').detail);
    await aws.runToCompletion();
    faultOf = () => undefined;

    expect(injected.filter((call) => invokes(call, 'resolveKeys'))).toHaveLength(2);
    expect(injected.filter((call) => call.service === 'sqs')).toHaveLength(1);
    expect(injected.filter((call) => invokes(call, 'eraseKeys'))).toHaveLength(1);
    expect(await keyStateOf(kms, key.keyId)).toBe('NotFoundException');
    const kinds = notificationsOf(aws, 'ErasureNotificationsTopic', fingerprintSubject('fault-services')).map((notification) => notification.kind);
    expect(kinds).toEqual(['scheduled', 'completed']);
  });
});
