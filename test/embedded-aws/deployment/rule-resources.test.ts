import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';
const PREFIX = `arn:aws:events:eu-west-1:${ACCOUNT}`;
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:crypto-erasure-local-alertOnKeyUse`;
const DLQ_ARN = `arn:aws:sqs:eu-west-1:${ACCOUNT}:crypto-erasure-closures-dlq-local`;
const KMS_API_CALLS = { 'source': ['aws.kms'], 'detail-type': ['AWS API Call via CloudTrail'] };

type Resources = NonNullable<NonNullable<ServerlessConfig['resources']>['Resources']>;
type Properties = Record<string, unknown>;

/**
 * serverless.yml as `osls print` hands it over: a function, the closure bus, the state machine,
 * the dead-letter queue, and `resources` added by each test (a rule, its Lambda permission...).
 */
function configWith(resources: Resources, environment: Record<string, unknown> = {}): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: 'local', region: 'eu-west-1' },
    functions: { alertOnKeyUse: { handler: 'functions/alert-on-key-use.handler', environment } },
    stepFunctions: {
      stateMachines: {
        erasure: {
          id: 'ErasureStateMachine',
          name: 'crypto-erasure-local',
          type: 'STANDARD',
          definition: { StartAt: 'Done', States: { Done: { Type: 'Succeed', Comment: 'done' } } },
        },
      },
    },
    resources: {
      Resources: {
        ClosureEventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'crypto-erasure-closures-local' } },
        ClosureDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'crypto-erasure-closures-dlq-local' } },
        ...resources,
      },
    },
  };
}

function ruleResource(properties: Properties): Resources {
  return { KeyUsedWhilePendingDeletionRule: { Type: 'AWS::Events::Rule', Properties: { EventPattern: KMS_API_CALLS, ...properties } } };
}

describe('planDeployment, AWS::Events::Rule resources', () => {
  it('plans a rule on the default bus, in the state that receives read-only CloudTrail events, with its Lambda target', () => {
    const config = configWith({
      ...ruleResource({
        State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        Targets: [
          {
            Id: 'alert-on-key-use',
            Arn: { 'Fn::GetAtt': ['AlertOnKeyUseLambdaFunction', 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ClosureDeadLetterQueue', 'Arn'] } },
          },
        ],
      }),
      // Accepted and not deployed: the embedded AWS enforces no IAM.
      AlertOnKeyUsePermission: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': ['AlertOnKeyUseLambdaFunction', 'Arn'] },
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': ['KeyUsedWhilePendingDeletionRule', 'Arn'] },
        },
      },
    });

    const { rules } = planDeployment(config, ACCOUNT);

    expect(rules).toEqual([
      {
        name: 'crypto-erasure-local-KeyUsedWhilePendingDeletionRule',
        eventBusName: 'default',
        pattern: KMS_API_CALLS,
        state: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        targets: [
          {
            Id: 'alert-on-key-use',
            Arn: FUNCTION_ARN,
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
            DeadLetterConfig: { Arn: DLQ_ARN },
          },
        ],
      },
    ]);
  });

  it.each([
    ['its Ref', { Ref: 'ClosureEventBus' }],
    ['Fn::GetAtt Name', { 'Fn::GetAtt': ['ClosureEventBus', 'Name'] }],
    ['its ARN', { 'Fn::GetAtt': ['ClosureEventBus', 'Arn'] }],
    ['its name as text', 'crypto-erasure-closures-local'],
  ])('puts a rule whose EventBusName is %s on that bus, under its declared name', (_, eventBusName) => {
    const config = configWith(
      ruleResource({
        Name: 'closures-to-erasure',
        EventBusName: eventBusName,
        EventPattern: { 'source': ['com.example.accounts'], 'detail-type': ['AccountClosed'] },
        Targets: [{ Id: 'start-erasure', Arn: { Ref: 'ErasureStateMachine' }, InputPath: '$.detail' }],
      }),
    );

    const [rule] = planDeployment(config, ACCOUNT).rules;

    expect(rule).toMatchObject({
      name: 'closures-to-erasure',
      eventBusName: 'crypto-erasure-closures-local',
      state: 'ENABLED',
      targets: [{ Id: 'start-erasure', Arn: `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:crypto-erasure-local`, InputPath: '$.detail' }],
    });
  });

  it('resolves an intrinsic at any depth of the event pattern', () => {
    const config = configWith(
      ruleResource({
        EventPattern: {
          ...KMS_API_CALLS,
          detail: {
            errorMessage: [{ wildcard: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/* is pending deletion.' } }],
          },
        },
      }),
    );

    const [rule] = planDeployment(config, ACCOUNT).rules;

    expect(rule?.pattern).toEqual({
      ...KMS_API_CALLS,
      detail: { errorMessage: [{ wildcard: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/* is pending deletion.` }] },
    });
  });

  it('stops with the path of an intrinsic the embedded AWS cannot resolve', () => {
    const config = configWith(
      ruleResource({ EventPattern: { ...KMS_API_CALLS, resources: [{ 'Fn::ImportValue': 'shared-subject-key-arn' }] } }),
    );

    expect(() => planDeployment(config, ACCOUNT)).toThrow(
      /^resources\.KeyUsedWhilePendingDeletionRule\.EventPattern\.resources\.0: the embedded AWS cannot resolve .*Fn::ImportValue/,
    );
  });

  it('resolves a rule resource Fn::GetAtt Arn to its ARN, and Ref to its name, or bus|name on a custom bus', () => {
    const config = configWith(
      {
        ...ruleResource({}),
        ClosureRule: { Type: 'AWS::Events::Rule', Properties: { Name: 'closures', EventBusName: { Ref: 'ClosureEventBus' }, EventPattern: { source: ['com.example.accounts'] } } },
      },
      {
        RULE_ARN: { 'Fn::GetAtt': ['KeyUsedWhilePendingDeletionRule', 'Arn'] },
        RULE_REF: { Ref: 'KeyUsedWhilePendingDeletionRule' },
        CLOSURE_RULE_ARN: { 'Fn::GetAtt': ['ClosureRule', 'Arn'] },
        CLOSURE_RULE_REF: { Ref: 'ClosureRule' },
      },
    );

    const environment = planDeployment(config, ACCOUNT).functions[0]?.environment;

    expect(environment).toEqual({
      RULE_ARN: `${PREFIX}:rule/crypto-erasure-local-KeyUsedWhilePendingDeletionRule`,
      RULE_REF: 'crypto-erasure-local-KeyUsedWhilePendingDeletionRule',
      CLOSURE_RULE_ARN: `${PREFIX}:rule/crypto-erasure-closures-local/closures`,
      CLOSURE_RULE_REF: 'crypto-erasure-closures-local|closures',
    });
  });

  it('passes a ScheduleExpression through, a rule needing no pattern then', () => {
    const config = configWith({
      NightlyCheck: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 day)', Targets: [{ Id: 'check', Arn: { Ref: 'ErasureStateMachine' } }] } },
    });

    const [rule] = planDeployment(config, ACCOUNT).rules;

    expect(rule).toMatchObject({ name: 'crypto-erasure-local-NightlyCheck', scheduleExpression: 'rate(1 day)', state: 'ENABLED' });
    expect(rule?.pattern).toBeUndefined();
  });

  it('refuses a target property the embedded EventBridge would not apply, with its path', () => {
    const config = configWith(
      ruleResource({
        Targets: [{ Id: 'alert', Arn: { 'Fn::GetAtt': ['AlertOnKeyUseLambdaFunction', 'Arn'] }, InputTransformer: { InputTemplate: '"<key>"' } }],
      }),
    );

    expect(() => planDeployment(config, ACCOUNT)).toThrow('resources.KeyUsedWhilePendingDeletionRule.Targets.0.InputTransformer: the embedded EventBridge does not apply InputTransformer');
  });

  it('refuses a State EventBridge does not have', () => {
    const config = configWith(ruleResource({ State: 'ENABLED_WITH_CLOUDTRAIL' }));

    expect(() => planDeployment(config, ACCOUNT)).toThrow(/^resources\.KeyUsedWhilePendingDeletionRule\.State: ENABLED_WITH_CLOUDTRAIL is not a rule state/);
  });
});
