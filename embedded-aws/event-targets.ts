/**
 * How the embedded EventBridge reaches a rule's target in the other embedded services: a function
 * invoked asynchronously, an execution started, a message published, each as the AWS service
 * would be called by events.amazonaws.com.
 */
import { randomUUID } from 'node:crypto';
import { TargetInvocationError, targetInput, type EventBridgeEvent, type RuleTarget } from './eventbridge/embedded-event-bridge.ts';
import type { EmbeddedLambda } from './lambda/embedded-lambda.ts';
import type { RequestContext } from './protocol.ts';
import { metered, type RequestMeter } from './request-meter.ts';
import type { EmbeddedSns } from './sns/embedded-sns.ts';
import type { EmbeddedStepFunctions } from './stepfunctions/embedded-step-functions.ts';

export async function deliverToTarget(
  target: RuleTarget,
  event: EventBridgeEvent,
  services: { lambda: EmbeddedLambda; stepFunctions: EmbeddedStepFunctions; sns: EmbeddedSns; region: string; accountId: string; meter: RequestMeter | undefined },
): Promise<void> {
  const context: RequestContext = { region: services.region, accountId: services.accountId, accessKeyId: 'events.amazonaws.com', requestId: randomUUID() };
  const input = targetInput(target, event);
  if (target.Arn.startsWith('arn:aws:lambda:')) {
    if (!services.lambda.has(target.Arn)) throw new TargetInvocationError('ResourceNotFoundException', `Function not found: ${target.Arn}`, { retryable: false });
    services.lambda.invokeAsync(target.Arn, input);
    return;
  }
  if (target.Arn.includes(':states:')) {
    const start = { stateMachineArn: target.Arn, input: JSON.stringify(input) };
    await metered(services.meter, { service: 'states', operation: 'StartExecution', input: start }, () => services.stepFunctions.handle('StartExecution', start, context));
    return;
  }
  if (target.Arn.startsWith('arn:aws:sns:')) {
    const publish = { Action: 'Publish', TopicArn: target.Arn, Message: JSON.stringify(input) };
    await metered(services.meter, { service: 'sns', operation: 'Publish', input: publish }, () => services.sns.handle('Publish', publish, context));
    return;
  }
  throw new TargetInvocationError('UnsupportedTarget', `the embedded EventBridge cannot deliver to ${target.Arn}`, { retryable: false });
}
