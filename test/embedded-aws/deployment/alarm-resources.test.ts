import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';

/** The queue, topic, state machine and alarms of serverless.yml, as `osls print` hands them over. */
const config: ServerlessConfig = {
  service: 'crypto-erasure',
  provider: { stage: 'local', region: 'eu-west-1' },
  functions: {},
  stepFunctions: { stateMachines: { erasure: { id: 'ErasureStateMachine', name: 'crypto-erasure-local', definition: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } } } } },
  resources: {
    Resources: {
      ClosureDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'crypto-erasure-closures-dlq-local', MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true } },
      OnCallAlertsTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'crypto-erasure-oncall-local' } },
      ClosureDeadLetterAlarm: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: 'A closure waits in the dead-letter queue.',
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['ClosureDeadLetterQueue', 'QueueName'] } }],
          Statistic: 'Maximum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: 'OnCallAlertsTopic' }],
        },
      },
      ErasureFailedAlarm: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: 'erasure-failed',
          Namespace: 'AWS/States',
          MetricName: 'ExecutionsFailed',
          Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'ErasureStateMachine' } }],
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          OKActions: [{ Ref: 'OnCallAlertsTopic' }],
        },
      },
    },
  },
};

describe('planDeployment, AWS::CloudWatch::Alarm and AWS::SQS::Queue resources', () => {
  it('plans each alarm with its Refs and GetAtts resolved, named after the stack and logical id unless named', () => {
    const { alarms } = planDeployment(config, ACCOUNT);

    expect(alarms).toEqual([
      {
        logicalId: 'ClosureDeadLetterAlarm',
        name: 'crypto-erasure-local-ClosureDeadLetterAlarm',
        arn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:crypto-erasure-local-ClosureDeadLetterAlarm`,
        description: 'A closure waits in the dead-letter queue.',
        region: 'eu-west-1',
        accountId: ACCOUNT,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: [{ name: 'QueueName', value: 'crypto-erasure-closures-dlq-local' }],
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        actionsEnabled: true,
        alarmActions: [`arn:aws:sns:eu-west-1:${ACCOUNT}:crypto-erasure-oncall-local`],
        okActions: [],
        insufficientDataActions: [],
      },
      expect.objectContaining({
        name: 'erasure-failed',
        dimensions: [{ name: 'StateMachineArn', value: `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:crypto-erasure-local` }],
        // TreatMissingData defaults to missing, as in CloudWatch.
        treatMissingData: 'missing',
        alarmActions: [],
        okActions: [`arn:aws:sns:eu-west-1:${ACCOUNT}:crypto-erasure-oncall-local`],
      }),
    ]);
  });

  it("plans a queue with its declared attributes, as SQS renders them", () => {
    const { queues } = planDeployment(config, ACCOUNT);

    expect(queues).toEqual([
      {
        logicalId: 'ClosureDeadLetterQueue',
        name: 'crypto-erasure-closures-dlq-local',
        arn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:crypto-erasure-closures-dlq-local`,
        url: `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/crypto-erasure-closures-dlq-local`,
        attributes: { MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' },
      },
    ]);
  });
});
