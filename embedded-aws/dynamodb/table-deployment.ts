import { CreateTableCommand, DescribeTableCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LocalTableDeployment } from '../deployment/local-deployment.ts';

/**
 * Creates serverless.yml's tables through the embedded DynamoDB's own endpoint, as CloudFormation
 * would. A table kept from an earlier start (`--data-dir`) is left with its items; only its
 * deletion protection follows the declaration, as a stack update would make it.
 */
export async function deployTables(dynamodb: DynamoDBClient, tables: LocalTableDeployment[]): Promise<void> {
  for (const table of tables) {
    const created = await dynamodb.send(new CreateTableCommand({ ...table.definition, DeletionProtectionEnabled: table.deletionProtectionEnabled })).then(
      () => true,
      (error: Error) => {
        if (error.name === 'ResourceInUseException') return false;
        throw new Error(`cannot create the table ${table.logicalId} (${table.name}): ${error.name}: ${error.message}`);
      },
    );
    if (!created) {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table.name }));
      if (Table?.DeletionProtectionEnabled !== table.deletionProtectionEnabled) {
        await dynamodb.send(new UpdateTableCommand({ TableName: table.name, DeletionProtectionEnabled: table.deletionProtectionEnabled }));
      }
    }
    await activeTable(dynamodb, table.name);
  }
}

/** dynalite turns a table ACTIVE on a zero-delay timer: a moment after CreateTable answers. */
async function activeTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`the table ${tableName} did not become ACTIVE`);
}
