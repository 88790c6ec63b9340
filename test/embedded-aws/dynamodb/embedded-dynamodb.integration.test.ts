import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../../embedded-aws/embedded-aws.ts';
import { AwsServiceError, type ServiceCall } from '../../../embedded-aws/protocol.ts';

/**
 * The embedded DynamoDB through the real SDK clients: the ledger table of serverless.yml as
 * deployed, DynamoDB's conditional writes and queries (dynalite's), deletion protection, and the
 * fault point.
 */
let aws: EmbeddedAws;
let dynamodb: DynamoDBClient;
let documents: DynamoDBDocumentClient;
let ledgerTable: string;
let injected: ((call: ServiceCall) => AwsServiceError | undefined) | undefined;

beforeAll(async () => {
  aws = await startEmbeddedAws({ log: () => undefined, faults: (call) => injected?.(call) });
  dynamodb = new DynamoDBClient({ ...aws.clientConfig, maxAttempts: 1 });
  documents = DynamoDBDocumentClient.from(dynamodb);
  ledgerTable = aws.nameOf('LedgerTable');
}, 60_000);
afterAll(async () => aws?.close());

describe('the ledger table of serverless.yml', () => {
  it('exists, ACTIVE, with the declared key schema, billing mode and deletion protection', async () => {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: ledgerTable }));
    expect(ledgerTable).toBe('crypto-erasure-ledger-local');
    expect(Table).toMatchObject({
      TableName: ledgerTable,
      TableArn: `arn:aws:dynamodb:eu-west-1:111122223333:table/${ledgerTable}`,
      TableStatus: 'ACTIVE',
      KeySchema: [
        { AttributeName: 'subject', KeyType: 'HASH' },
        { AttributeName: 'entry', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: expect.arrayContaining([
        { AttributeName: 'subject', AttributeType: 'S' },
        { AttributeName: 'entry', AttributeType: 'S' },
      ]),
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
      DeletionProtectionEnabled: true,
    });
    expect(aws.arnOf('LedgerTable')).toBe(Table?.TableArn);
  });

  it('is the table the functions are given as LEDGER_TABLE_NAME', () => {
    expect(process.env.LEDGER_TABLE_NAME).toBe(ledgerTable);
  });

  it('refuses DeleteTable while deletion protection is on, and keeps the table', async () => {
    await expect(dynamodb.send(new DeleteTableCommand({ TableName: ledgerTable }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.',
      $metadata: { httpStatusCode: 400 },
    });
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(ledgerTable);
  });
});

describe('deletion protection', () => {
  it('is set by CreateTable, lifted by UpdateTable, and then DeleteTable deletes', async () => {
    const TableName = 'scratch-protected';
    const created = await dynamodb.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
      }),
    );
    expect(created.TableDescription?.DeletionProtectionEnabled).toBe(true);
    await expect(dynamodb.send(new DeleteTableCommand({ TableName }))).rejects.toMatchObject({ name: 'ValidationException' });

    const updated = await dynamodb.send(new UpdateTableCommand({ TableName, DeletionProtectionEnabled: false }));
    expect(updated.TableDescription).toMatchObject({ TableName, DeletionProtectionEnabled: false });
    const deleted = await dynamodb.send(new DeleteTableCommand({ TableName }));
    expect(deleted.TableDescription).toMatchObject({ TableStatus: 'DELETING', DeletionProtectionEnabled: false });
    // Gone a moment later, as on AWS once DELETING is over.
    let tables: string[] | undefined = [TableName];
    for (let attempt = 0; attempt < 50 && tables?.includes(TableName); attempt++) {
      tables = (await dynamodb.send(new ListTablesCommand({}))).TableNames;
    }
    expect(tables).not.toContain(TableName);
  });
});

describe('items', () => {
  it('refuses a second write of the same key under attribute_not_exists(subject)', async () => {
    const put = () =>
      documents.send(
        new PutCommand({
          TableName: ledgerTable,
          Item: { subject: 'fp-conditional', entry: 'event#000000000001', kind: 'requested' },
          ConditionExpression: 'attribute_not_exists(subject)',
        }),
      );
    await put();
    const refused = await put().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConditionalCheckFailedException);
    expect(refused).toMatchObject({ name: 'ConditionalCheckFailedException', message: 'The conditional request failed' });
  });

  it("queries a subject's entries by partition key, in sort-key order", async () => {
    for (const entry of ['event#000000000003', 'event#000000000001', 'erasure#run-1', 'event#000000000002']) {
      await documents.send(new PutCommand({ TableName: ledgerTable, Item: { subject: 'fp-query', entry } }));
    }
    await documents.send(new PutCommand({ TableName: ledgerTable, Item: { subject: 'fp-someone-else', entry: 'event#000000000001' } }));

    const { Items } = await documents.send(
      new QueryCommand({
        TableName: ledgerTable,
        KeyConditionExpression: '#subject = :subject AND begins_with(#entry, :events)',
        ExpressionAttributeNames: { '#subject': 'subject', '#entry': 'entry' },
        ExpressionAttributeValues: { ':subject': 'fp-query', ':events': 'event#' },
        ConsistentRead: true,
      }),
    );
    expect(Items?.map((item) => item.entry)).toEqual(['event#000000000001', 'event#000000000002', 'event#000000000003']);
  });
});

describe('fault injection', () => {
  it('answers an injected ThrottlingException in DynamoDB JSON, by name, for the operation it targets', async () => {
    injected = ({ service, operation }) =>
      service === 'dynamodb' && operation === 'PutItem' ? new AwsServiceError('ThrottlingException', 'Rate of requests exceeds the allowed throughput.') : undefined;
    try {
      await expect(documents.send(new PutCommand({ TableName: ledgerTable, Item: { subject: 'fp-fault', entry: 'event#000000000001' } }))).rejects.toMatchObject({
        name: 'ThrottlingException',
        message: 'Rate of requests exceeds the allowed throughput.',
        $metadata: { httpStatusCode: 400 },
      });
      await expect(dynamodb.send(new DescribeTableCommand({ TableName: ledgerTable }))).resolves.toBeDefined();

      const raw = await fetch(aws.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.PutItem' },
        body: '{}',
      });
      expect(raw.status).toBe(400);
      expect(raw.headers.get('content-type')).toBe('application/x-amz-json-1.0');
      expect(await raw.json()).toEqual({ __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' });
    } finally {
      injected = undefined;
    }
  });
});
