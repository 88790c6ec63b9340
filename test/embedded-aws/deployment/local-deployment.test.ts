import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { EventBridgeEventConfig, ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';
const MACHINE_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:crypto-erasure-local`;

/** serverless.yml as `osls print` hands it over: one state machine, one function with one eventBridge event. */
function configWith(eventBridge: EventBridgeEventConfig): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: 'local', region: 'eu-west-1' },
    functions: { alertOnStop: { handler: 'functions/alert-on-stop.handler', events: [{ eventBridge }] } },
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
  };
}

describe('planDeployment, eventBridge function events', () => {
  it('puts a rule without eventBus on the default bus, with Ref and Fn::GetAtt in its pattern resolved to the ARN', () => {
    const config = configWith({
      pattern: {
        'source': ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        'resources': [{ 'Fn::GetAtt': ['ErasureStateMachine', 'Arn'] }],
        'detail': { stateMachineArn: [{ Ref: 'ErasureStateMachine' }], status: ['ABORTED'] },
      },
    });

    const [rule] = planDeployment(config, ACCOUNT).rules;

    expect(rule).toMatchObject({
      name: 'crypto-erasure-local-alertOnStop-rule-1',
      eventBusName: 'default',
      state: 'ENABLED',
      pattern: {
        'source': ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        'resources': [MACHINE_ARN],
        'detail': { stateMachineArn: [MACHINE_ARN], status: ['ABORTED'] },
      },
    });
  });

  it('stops with the path of an intrinsic in a pattern that names no resource', () => {
    const config = configWith({ pattern: { detail: { stateMachineArn: [{ Ref: 'NoSuchMachine' }] } } });

    expect(() => planDeployment(config, ACCOUNT)).toThrow(/functions\.alertOnStop\.events\.0\.eventBridge\.pattern\.detail\.stateMachineArn\.0: .*NoSuchMachine/);
  });

  it('deploys a rule with enabled: false as DISABLED, as osls does', () => {
    const config = configWith({ enabled: false, pattern: { source: ['aws.states'] } });

    expect(planDeployment(config, ACCOUNT).rules[0]?.state).toBe('DISABLED');
  });

  it('refuses a state that osls would leave out of the deployed rule', () => {
    const config = configWith({ state: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS', pattern: { source: ['aws.kms'] } });

    expect(() => planDeployment(config, ACCOUNT)).toThrow(/eventBridge\.state: osls leaves state out of the deployed rule, which is ENABLED/);
  });
});
