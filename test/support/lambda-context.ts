import type { Context } from 'aws-lambda';
import { functionArn, lambdaContext as embeddedLambdaContext } from '../../embedded-aws/lambda/local-functions.ts';
import { ACCOUNT_ID, REGION } from './settings.ts';

/** The context Lambda hands a function, as the embedded Lambda builds it. */
export function lambdaContext(functionName: string, accountId = ACCOUNT_ID): Context {
  return embeddedLambdaContext({ key: functionName, functionName, handler: '', arn: functionArn(REGION, accountId, functionName) });
}
