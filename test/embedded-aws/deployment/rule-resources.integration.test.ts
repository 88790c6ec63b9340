import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';
import { EmbeddedEventBridge, type EventBridgeEvent, type RuleTarget } from '../../../embedded-aws/eventbridge/embedded-event-bridge.ts';
import { failedCallEvent } from '../../../embedded-aws/kms/kms-events.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:crypto-erasure-local-alertOnKeyUse`;
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/** serverless.yml with the rule docs/aws-facts.md describes: refused KMS calls on a key pending deletion, to a function. */
function configWithRuleIn(state: string): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: 'local', region: REGION },
    functions: { alertOnKeyUse: { handler: 'functions/alert-on-key-use.handler' } },
    resources: {
      Resources: {
        KeyUsedWhilePendingDeletionRule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            State: state,
            EventPattern: {
              'source': ['aws.kms'],
              'detail-type': ['AWS API Call via CloudTrail'],
              'detail': {
                eventSource: ['kms.amazonaws.com'],
                errorMessage: [{ wildcard: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/* is pending deletion.' } }],
              },
            },
            Targets: [{ Id: 'alert-on-key-use', Arn: { 'Fn::GetAtt': ['AlertOnKeyUseLambdaFunction', 'Arn'] } }],
          },
        },
        KeyUsedWhilePendingDeletionPermission: {
          Type: 'AWS::Lambda::Permission',
          Properties: {
            Action: 'lambda:InvokeFunction',
            FunctionName: { 'Fn::GetAtt': ['AlertOnKeyUseLambdaFunction', 'Arn'] },
            Principal: 'events.amazonaws.com',
            SourceArn: { 'Fn::GetAtt': ['KeyUsedWhilePendingDeletionRule', 'Arn'] },
          },
        },
      },
    },
  };
}

/** An EventBridge holding the planned rules, deployed as the embedded AWS deploys them, recording each delivery. */
function deployRulesOf(config: ServerlessConfig): { events: EmbeddedEventBridge; deliveries: { target: RuleTarget; event: EventBridgeEvent }[] } {
  const deliveries: { target: RuleTarget; event: EventBridgeEvent }[] = [];
  const events = new EmbeddedEventBridge({
    clock: new VirtualClock({ timeScale: 10_000 }),
    log: () => {},
    deliver: async (target, event) => {
      deliveries.push({ target, event });
    },
  });
  running.push(() => events.close());
  for (const rule of planDeployment(config, ACCOUNT).rules) {
    events.addRule({ region: REGION, accountId: ACCOUNT, name: rule.name, eventBusName: rule.eventBusName, eventPattern: rule.pattern ?? {}, state: rule.state, targets: rule.targets });
  }
  return { events, deliveries };
}

/** What CloudTrail puts on the default bus when KMS refuses a call on a key pending deletion. */
function refusedKmsCall(operation: 'Decrypt' | 'DisableKey') {
  return failedCallEvent({
    operation,
    input: { KeyId: KEY_ARN },
    context: { region: REGION, accountId: ACCOUNT, accessKeyId: 'AKIAEMBEDDEDTEST', requestId: 'c0ffee00-0000-4000-8000-000000000000' },
    errorCode: 'KMSInvalidStateException',
    errorMessage: `${KEY_ARN} is pending deletion.`,
    keyArn: KEY_ARN,
    time: new Date('2026-03-01T10:00:00Z'),
  });
}

describe('an AWS::Events::Rule resource deployed in the embedded EventBridge', () => {
  it('delivers a refused Decrypt (a read-only management event) to the function when in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS', async () => {
    const { events, deliveries } = deployRulesOf(configWithRuleIn('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'));

    events.putEvent(refusedKmsCall('Decrypt'));
    await events.idle();

    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.target.Arn).toBe(FUNCTION_ARN);
    expect(deliveries[0]?.event).toMatchObject({ 'source': 'aws.kms', 'resources': [KEY_ARN], 'detail': { eventName: 'Decrypt', readOnly: true } });
  });

  it('keeps a refused Decrypt from the same rule in state ENABLED, which still receives refused calls that write', async () => {
    const { events, deliveries } = deployRulesOf(configWithRuleIn('ENABLED'));

    events.putEvent(refusedKmsCall('Decrypt'));
    events.putEvent(refusedKmsCall('DisableKey'));
    await events.idle();

    expect(deliveries.map(({ target, event }) => [target.Arn, event.detail.eventName])).toEqual([[FUNCTION_ARN, 'DisableKey']]);
  });
});
