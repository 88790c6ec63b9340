import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../../embedded-aws/embedded-aws.ts';
import { createSubjectKey, publishClosure, sampleClosure, waitFor } from '../../support/embedded.ts';

/**
 * The CloudWatch alarms of serverless.yml, on the embedded AWS as deployed from it: the dead-letter
 * alarm on the closure queue's ApproximateNumberOfMessagesVisible, the erasure alarm on the state
 * machine's ExecutionsFailed, both paging the on-call topic. The clock runs at real speed and the
 * tests move it on, so each alarm evaluation happens when a test says.
 */
const MINUTE = 60_000;
let aws: EmbeddedAws;

beforeAll(async () => {
  aws = await startEmbeddedAws({ timeScale: 1, environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' }, log: () => undefined });
  // A minute on, the alarms have had their first evaluation: OK, nothing wrong yet.
  aws.clock.advance(MINUTE);
  await waitFor(() => aws.alarms.state(aws.nameOf('ClosureDeadLetterAlarm')) === 'OK' && aws.alarms.state(aws.nameOf('ErasureFailedAlarm')) === 'OK', 'the first evaluation');
}, 60_000);
afterAll(async () => aws?.close());

function alarmNotifications(logicalId: string) {
  return aws.sns
    .published(aws.arnOf('OnCallAlertsTopic'))
    .filter((message) => message.subject?.includes(`"${aws.nameOf(logicalId)}"`))
    .map((message) => ({ subject: message.subject, body: JSON.parse(message.message) as Record<string, any> }));
}

describe('ClosureDeadLetterAlarm', () => {
  it('pages on-call once, with CloudWatch\'s notification, for two dead letters', async () => {
    await publishClosure(aws, { subjectId: 'alarm-malformed-1', closedAt: 'not a date' });
    await publishClosure(aws, { subjectId: 'alarm-malformed-2', closedAt: 'not a date either' });
    await aws.idle();
    expect(aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue'))).toHaveLength(2);

    aws.clock.advance(2 * MINUTE);
    await waitFor(() => alarmNotifications('ClosureDeadLetterAlarm').length > 0, 'the dead-letter alarm');
    aws.clock.advance(30 * MINUTE);
    await aws.idle();

    const notifications = alarmNotifications('ClosureDeadLetterAlarm');
    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.subject).toBe(`ALARM: "${aws.nameOf('ClosureDeadLetterAlarm')}" in EU (Ireland)`);
    expect(notifications[0]?.body).toMatchObject({
      AlarmName: aws.nameOf('ClosureDeadLetterAlarm'),
      AlarmDescription: expect.stringContaining('dead-letter queue'),
      AWSAccountId: aws.deployment.accountId,
      NewStateValue: 'ALARM',
      OldStateValue: 'OK',
      NewStateReason: expect.stringMatching(/^Threshold Crossed: 1 datapoint \[2\.0 \(\d\d\/\d\d\/\d\d \d\d:\d\d:00\)\] was greater than or equal to the threshold \(1\.0\)\.$/),
      StateChangeTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000$/),
      Region: 'EU (Ireland)',
      AlarmArn: aws.arnOf('ClosureDeadLetterAlarm'),
      AlarmActions: [aws.arnOf('OnCallAlertsTopic')],
      Trigger: {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        StatisticType: 'Statistic',
        Statistic: 'MAXIMUM',
        Unit: null,
        Dimensions: [{ value: aws.nameOf('ClosureDeadLetterQueue'), name: 'QueueName' }],
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      },
    });
    expect(aws.alarms.state(aws.nameOf('ClosureDeadLetterAlarm'))).toBe('ALARM');
  });

  it('returns to OK, silently (no OKActions), once the dead letters are deleted', async () => {
    const sqs = new SQSClient(aws.clientConfig);
    const queueUrl = aws.deployment.queues.find((queue) => queue.logicalId === 'ClosureDeadLetterQueue')?.url;
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    for (const message of Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));

    aws.clock.advance(10 * MINUTE);
    await waitFor(() => aws.alarms.state(aws.nameOf('ClosureDeadLetterAlarm')) === 'OK', 'the alarm back to OK');

    expect(alarmNotifications('ClosureDeadLetterAlarm').map((notification) => notification.body.NewStateValue)).toEqual(['ALARM']);
  });
});

describe('ErasureFailedAlarm', () => {
  it('does not fire for a stopped erasure: ExecutionsFailed counts FAILED executions only', async () => {
    const kms = new KMSClient(aws.clientConfig);
    await createSubjectKey(kms, 'alarm-stopped');
    await publishClosure(aws, sampleClosure('alarm-stopped').detail);
    const execution = await waitFor(
      () => aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).find((candidate) => candidate.status === 'RUNNING'),
      'the erasure running',
    );

    await new SFNClient(aws.clientConfig).send(new StopExecutionCommand({ executionArn: execution.executionArn }));
    await aws.idle();
    aws.clock.advance(10 * MINUTE);
    await aws.idle();

    expect(aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine'))).toContainEqual(expect.objectContaining({ executionArn: execution.executionArn, status: 'ABORTED' }));
    expect(aws.alarms.state(aws.nameOf('ErasureFailedAlarm'))).toBe('OK');
    expect(alarmNotifications('ErasureFailedAlarm')).toEqual([]);
  });

  it('pages on-call when an erasure fails', async () => {
    const kms = new KMSClient(aws.clientConfig);
    await createSubjectKey(kms, 'alarm-victim');
    await createSubjectKey(kms, 'alarm-victim', { alias: 'alias/erasure/subject/alarm-attacker' });
    await publishClosure(aws, sampleClosure('alarm-attacker').detail);
    await waitFor(() => aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine')).some((execution) => execution.status === 'FAILED'), 'the failed erasure');

    aws.clock.advance(MINUTE);
    await waitFor(() => alarmNotifications('ErasureFailedAlarm').length > 0, 'the erasure alarm');

    expect(alarmNotifications('ErasureFailedAlarm')).toEqual([
      {
        subject: `ALARM: "${aws.nameOf('ErasureFailedAlarm')}" in EU (Ireland)`,
        body: expect.objectContaining({
          NewStateValue: 'ALARM',
          Trigger: expect.objectContaining({
            MetricName: 'ExecutionsFailed',
            Namespace: 'AWS/States',
            Statistic: 'SUM',
            Dimensions: [{ value: aws.arnOf('ErasureStateMachine'), name: 'StateMachineArn' }],
          }),
        }),
      },
    ]);
  });

  it('is described by DescribeAlarms through the SDK', async () => {
    const cloudWatch = new CloudWatchClient(aws.clientConfig);

    const { MetricAlarms } = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [aws.nameOf('ErasureFailedAlarm')] }));

    expect(MetricAlarms).toEqual([
      expect.objectContaining({
        AlarmName: aws.nameOf('ErasureFailedAlarm'),
        StateValue: 'ALARM',
        MetricName: 'ExecutionsFailed',
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        AlarmActions: [aws.arnOf('OnCallAlertsTopic')],
        StateUpdatedTimestamp: expect.any(Date),
      }),
    ]);
  });
});
