import type { Context } from 'aws-lambda';
import { ACCOUNT_ID, REGION } from './settings.ts';

export function lambdaContext(functionName: string, accountId = ACCOUNT_ID): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${accountId}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `request-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
