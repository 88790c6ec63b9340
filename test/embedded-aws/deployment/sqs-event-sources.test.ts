import { describe, expect, it } from 'vitest';
import { planDeployment } from '../../../embedded-aws/deployment/local-deployment.ts';
import type { ServerlessConfig, SqsEventConfig } from '../../../embedded-aws/deployment/serverless-print.ts';

const ACCOUNT = '111122223333';
const QUEUE_ARN = `arn:aws:sqs:eu-west-1:${ACCOUNT}:crypto-erasure-local-KmsCallQueue.fifo`;

/** serverless.yml (as `osls print` gives it) with a paced worker on a FIFO queue, or on the queue `queue` declares. */
function configWith(options: { event?: Partial<Exclude<SqsEventConfig, string>>; queue?: Record<string, unknown>; timeout?: number } = {}): ServerlessConfig {
  return {
    service: 'crypto-erasure',
    provider: { stage: 'local', region: 'eu-west-1', timeout: options.timeout ?? 30 },
    functions: {
      paceKms: {
        handler: 'functions/pace-kms.handler',
        reservedConcurrency: 1,
        events: [{ sqs: { arn: { 'Fn::GetAtt': ['KmsCallQueue', 'Arn'] }, functionResponseType: 'ReportBatchItemFailures', ...options.event } }],
      },
    },
    resources: {
      Resources: {
        KmsCallQueue: { Type: 'AWS::SQS::Queue', Properties: options.queue ?? { FifoQueue: true, ContentBasedDeduplication: true, VisibilityTimeout: 180 } },
      },
    },
  };
}

describe('planning SQS event sources', () => {
  it('names an unnamed FIFO queue with the .fifo suffix, its attributes as SQS renders them', () => {
    const { queues } = planDeployment(configWith(), ACCOUNT);

    expect(queues).toEqual([
      {
        logicalId: 'KmsCallQueue',
        name: 'crypto-erasure-local-KmsCallQueue.fifo',
        arn: QUEUE_ARN,
        url: `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/crypto-erasure-local-KmsCallQueue.fifo`,
        attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '180' },
      },
    ]);
  });

  it("plans a function's sqs event as an event source mapping, with Lambda's defaults, and its reserved concurrency", () => {
    const { eventSourceMappings, functions } = planDeployment(configWith(), ACCOUNT);

    expect(eventSourceMappings).toEqual([
      {
        functionKey: 'paceKms',
        functionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:crypto-erasure-local-paceKms`,
        queueArn: QUEUE_ARN,
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        reportBatchItemFailures: true,
        enabled: true,
      },
    ]);
    expect(functions[0]).toMatchObject({ reservedConcurrency: 1, timeoutSeconds: 30 });
  });

  it.each([
    ['a FIFO batch of more than 10', { event: { batchSize: 11 } }, /batchSize: 11 is more than a FIFO queue's maximum batch size of 10/],
    ['a batching window on a FIFO queue', { event: { maximumBatchingWindow: 5 } }, /Batching window is not supported for FIFO queues/],
    ['a batch of more than 10 without a window', { queue: { VisibilityTimeout: 180 }, event: { batchSize: 100 } }, /Maximum batch window in seconds must be greater than 0/],
    ['a visibility timeout shorter than the function timeout', { timeout: 300 }, /Queue visibility timeout: 180 seconds is less than Function timeout: 300 seconds/],
    ['filter patterns', { event: { filterPatterns: [{ body: { kind: ['x'] } }] } }, /filterPatterns: the embedded Lambda does not filter SQS events/],
  ])('refuses %s, as CreateEventSourceMapping would', (_, options, message) => {
    expect(() => planDeployment(configWith(options), ACCOUNT)).toThrow(message);
  });

  it('refuses a queue serverless.yml does not declare', () => {
    const config = configWith({ event: { arn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:elsewhere` } });

    expect(() => planDeployment(config, ACCOUNT)).toThrow(/functions\.paceKms\.events\.0\.sqs\.arn: the embedded AWS polls only the queues serverless.yml declares/);
  });
});
