import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';

type Resources = NonNullable<NonNullable<ServerlessConfig['resources']>['Resources']>;

/** serverless.yml as `osls print` hands it over: tables, and a function whose environment names them. */
function configWith(environment: Record<string, unknown>, resources: Resources): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: 'local', region: 'eu-west-1' },
    functions: { notify: { handler: 'functions/notify.handler', environment } },
    resources: { Resources: resources },
  };
}

const LEDGER_TABLE = {
  Type: 'AWS::DynamoDB::Table',
  Properties: {
    TableName: 'crypto-erasure-ledger-local',
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'subject', AttributeType: 'S' },
      { AttributeName: 'entry', AttributeType: 'S' },
      { AttributeName: 'kind', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'subject', KeyType: 'HASH' },
      { AttributeName: 'entry', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [{ IndexName: 'by-kind', KeySchema: [{ AttributeName: 'kind', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    DeletionProtectionEnabled: true,
    SSESpecification: { SSEEnabled: true },
  },
};

describe('planDeployment, AWS::DynamoDB::Table', () => {
  it('resolves Ref to the table name and GetAtt Arn to its ARN', () => {
    const config = configWith(
      { LEDGER_TABLE_NAME: { Ref: 'LedgerTable' }, LEDGER_TABLE_ARN: { 'Fn::GetAtt': ['LedgerTable', 'Arn'] } },
      { LedgerTable: LEDGER_TABLE },
    );
    expect(planDeployment(config, ACCOUNT).functions[0]?.environment).toEqual({
      LEDGER_TABLE_NAME: 'crypto-erasure-ledger-local',
      LEDGER_TABLE_ARN: 'arn:aws:dynamodb:eu-west-1:111122223333:table/crypto-erasure-ledger-local',
    });
  });

  it('plans CreateTable from the declared keys, billing mode and indexes, and remembers deletion protection', () => {
    const [table] = planDeployment(configWith({}, { LedgerTable: LEDGER_TABLE }), ACCOUNT).tables;
    expect(table).toEqual({
      logicalId: 'LedgerTable',
      name: 'crypto-erasure-ledger-local',
      arn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/crypto-erasure-ledger-local',
      definition: {
        TableName: 'crypto-erasure-ledger-local',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: LEDGER_TABLE.Properties.AttributeDefinitions,
        KeySchema: LEDGER_TABLE.Properties.KeySchema,
        GlobalSecondaryIndexes: LEDGER_TABLE.Properties.GlobalSecondaryIndexes,
      },
      deletionProtectionEnabled: true,
    });
  });

  it('refuses, by name, an attribute the embedded DynamoDB has not got', () => {
    const config = configWith({ LEDGER_STREAM_ARN: { 'Fn::GetAtt': ['LedgerTable', 'StreamArn'] } }, { LedgerTable: LEDGER_TABLE });
    expect(() => planDeployment(config, ACCOUNT)).toThrow('functions.notify.environment.LEDGER_STREAM_ARN: the embedded AWS has no resource LedgerTable (attribute StreamArn)');
  });
});
