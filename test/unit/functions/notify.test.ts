import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../support/invoke.ts';
import { ERASURE_TOPIC_ARN, EXECUTION_ARN, ONCALL_TOPIC_ARN, erasureRequestFor, useFunctionEnvironment } from '../../support/settings.ts';

const sns = mockClient(SNSClient);
let handler: typeof import('../../../functions/notify.ts').handler;

beforeAll(async () => {
  useFunctionEnvironment();
  ({ handler } = await import('../../../functions/notify.ts'));
});
afterEach(() => sns.reset());

const request = erasureRequestFor('user-1');
const execution = EXECUTION_ARN;

describe('notify handler', () => {
  it('publishes a failure to the erasure topic and to on-call, with a kind attribute', async () => {
    sns.on(PublishCommand).resolvesOnce({ MessageId: 'm-1' }).resolvesOnce({ MessageId: 'm-2' });
    const failure = { Error: 'KeyNotOwnedBySubject', Cause: JSON.stringify({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'not theirs' }) };
    await expect(invoke(handler, { kind: 'failed', execution, request, failure })).resolves.toEqual({ kind: 'failed', messageIds: ['m-1', 'm-2'] });
    const calls = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.TopicArn)).toEqual([ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN]);
    expect(calls[0]?.MessageAttributes?.kind).toEqual({ DataType: 'String', StringValue: 'failed' });
  });

  it('refuses an unknown notification kind', async () => {
    await expect(invoke(handler, { kind: 'erased-maybe', execution, request })).rejects.toMatchObject({ name: 'ParseError' });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('fails as AwsServerError when SNS is down, so the state machine retries', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('unavailable'), { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }));
    await expect(invoke(handler, { kind: 'scheduled', execution, request, keys: [] })).rejects.toMatchObject({ name: 'AwsServerError' });
  });
});
