import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dynalite } from '../../../embedded-aws/dynamodb/dynalite.ts';

/**
 * dynalite driven in-process, as the embedded DynamoDB drives it: an expression sent again (the
 * ledger sends the same few with every call) is answered exactly as it was the first time, from
 * its results to its validation errors.
 */
let dynalite: Dynalite;
const TableName = 'expressions';

const call = async (operation: string, input: Record<string, unknown>) => {
  const answer = await dynalite.answer({
    method: 'POST',
    url: '/',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${operation}`,
      'x-amz-date': '20261128T100000Z',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEMBEDDEDAWS00000/20261128/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: Buffer.from(JSON.stringify(input)),
  });
  return { statusCode: answer.statusCode, output: JSON.parse(answer.body) as Record<string, unknown> };
};

const put = (entry: string, condition?: Record<string, unknown>) =>
  call('PutItem', { TableName, Item: { subject: { S: 'fp-1' }, entry: { S: entry } }, ...condition });

const query = (keyCondition: string, values: Record<string, unknown>) =>
  call('Query', {
    TableName,
    KeyConditionExpression: keyCondition,
    ExpressionAttributeNames: { '#subject': 'subject', '#entry': 'entry' },
    ExpressionAttributeValues: values,
    ConsistentRead: true,
  });

beforeAll(async () => {
  dynalite = await Dynalite.open({ region: 'eu-west-1', accountId: '111122223333' });
  await call('CreateTable', {
    TableName,
    AttributeDefinitions: [
      { AttributeName: 'subject', AttributeType: 'S' },
      { AttributeName: 'entry', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'subject', KeyType: 'HASH' },
      { AttributeName: 'entry', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  });
  // dynalite turns a table ACTIVE on a zero-delay timer, a moment after CreateTable answers.
  while (((await call('DescribeTable', { TableName })).output.Table as { TableStatus: string }).TableStatus !== 'ACTIVE') {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
});
afterAll(async () => dynalite?.close());

describe('an expression sent again', () => {
  it('holds its condition each time: the first write of a key passes, the next ones fail', async () => {
    const claim = { ConditionExpression: 'attribute_not_exists(#entry)', ExpressionAttributeNames: { '#entry': 'entry' } };
    const outcomes = [];
    for (const entry of ['event#1', 'event#1', 'event#2', 'event#2']) outcomes.push((await put(entry, claim)).statusCode);
    expect(outcomes).toEqual([200, 400, 200, 400]);
  });

  it('selects by the values sent with it, not those of the first time', async () => {
    await put('event#3');
    await put('erasure#run-1');
    const byPrefix = async (prefix: string) =>
      ((await query('#subject = :subject AND begins_with(#entry, :prefix)', { ':subject': { S: 'fp-1' }, ':prefix': { S: prefix } })).output.Items as { entry: { S: string } }[]).map(
        (item) => item.entry.S,
      );
    expect(await byPrefix('event#')).toEqual(['event#1', 'event#2', 'event#3']);
    expect(await byPrefix('erasure#')).toEqual(['erasure#run-1']);
    expect(await byPrefix('event#')).toEqual(['event#1', 'event#2', 'event#3']);
  });

  it('is rewritten afresh each time dynalite turns a key condition around', async () => {
    // `:subject = #subject` names the key second: dynalite swaps the operands in place.
    const answers = [];
    for (let time = 0; time < 3; time++) answers.push(await query(':subject = #subject AND #entry = :entry', { ':subject': { S: 'fp-1' }, ':entry': { S: 'event#2' } }));
    expect(answers[0]).toMatchObject({ statusCode: 200, output: { Count: 1 } });
    expect(answers.slice(1)).toEqual([answers[0], answers[0]]);
  });

  it('is refused again, in the same words, with a name it does not use', async () => {
    const unused = { ConditionExpression: 'attribute_not_exists(#entry)', ExpressionAttributeNames: { '#entry': 'entry', '#spare': 'spare' } };
    const first = await put('event#9', unused);
    expect(first).toEqual({
      statusCode: 400,
      output: { __type: 'com.amazon.coral.validate#ValidationException', message: 'Value provided in ExpressionAttributeNames unused in expressions: keys: {#spare}' },
    });
    expect(await put('event#9', unused)).toEqual(first);
  });

  it('is refused again with a value of the wrong type, and accepted with the right one', async () => {
    const prefix = (value: Record<string, unknown>) => query('#subject = :subject AND begins_with(#entry, :prefix)', { ':subject': { S: 'fp-1' }, ':prefix': value });
    const wrong = await prefix({ N: '1' });
    expect(wrong).toMatchObject({ statusCode: 400, output: { message: expect.stringContaining('Incorrect operand type for operator or function') } });
    expect(await prefix({ N: '1' })).toEqual(wrong);
    expect(await prefix({ S: 'event#' })).toMatchObject({ statusCode: 200, output: { Count: 3 } });
  });
});
