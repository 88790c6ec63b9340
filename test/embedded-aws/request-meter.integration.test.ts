import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import type { MeteredRequest } from '../../embedded-aws/request-meter.ts';

/** The embedded AWS's meter: told of every request, over loopback or in-process, with the error it was answered with. */
let aws: EmbeddedAws;
const metered: MeteredRequest[] = [];

beforeAll(async () => {
  aws = await startEmbeddedAws({
    quotas: true,
    environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    log: () => undefined,
    meter: (request) => metered.push(request),
  });
}, 60_000);
afterAll(async () => aws?.close());

const requestsOf = (service: string, operation: string) =>
  metered.filter((request) => request.service === service && request.operation === operation).map(({ errorCode, input }) => ({ errorCode, input }));

describe('the request meter', () => {
  it('is told of KMS requests throttled over quota, by error code', async () => {
    const scope = { accountId: aws.deployment.accountId, region: aws.deployment.region };
    const key = aws.kms.deployKey(scope, {
      keyId: crypto.randomUUID(),
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      description: 'metered key',
      tags: [],
      multiRegion: false,
      enabled: true,
    });
    const kms = new KMSClient({ ...aws.clientConfig, maxAttempts: 1 });

    // DisableKey's quota is 5 per second: the sixth call within one instant is throttled.
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => kms.send(new DisableKeyCommand({ KeyId: key.keyId }))));

    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1);
    const disables = requestsOf('kms', 'DisableKey');
    expect(disables.filter((request) => request.errorCode === undefined)).toHaveLength(5);
    expect(disables.filter((request) => request.errorCode === 'ThrottlingException')).toHaveLength(1);
    expect(disables[0]?.input).toEqual({ KeyId: key.keyId });
  });

  it('reads the error code of a service that writes its own answer (DynamoDB)', async () => {
    const dynamodb = new DynamoDBClient({ ...aws.clientConfig, maxAttempts: 1 });

    await expect(dynamodb.send(new GetItemCommand({ TableName: 'no-such-table', Key: { pk: { S: 'x' } } }))).rejects.toThrow();

    expect(requestsOf('dynamodb', 'GetItem')).toContainEqual({ errorCode: 'ResourceNotFoundException', input: {} });
  });

  it('reads the error code of a query-protocol answer (SNS)', async () => {
    const sns = new SNSClient({ ...aws.clientConfig, maxAttempts: 1 });
    const topicArn = `arn:aws:sns:${aws.deployment.region}:${aws.deployment.accountId}:no-such-topic`;

    await expect(sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'hello' }))).rejects.toThrow();

    expect(requestsOf('sns', 'Publish')).toContainEqual({ errorCode: 'NotFound', input: expect.objectContaining({ TopicArn: topicArn }) });
  });

  it('is told of a function invoked in-process, whatever the function then answers', async () => {
    const fn = aws.deployment.functions.find((candidate) => candidate.key === 'intake')!;

    await aws.lambda.invoke(fn.arn, { not: 'an EventBridge event' }).catch(() => undefined);

    expect(requestsOf('lambda', 'Invoke')).toContainEqual({ errorCode: undefined, input: { FunctionName: fn.arn } });
  });
});
