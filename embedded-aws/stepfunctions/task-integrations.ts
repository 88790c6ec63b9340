import { AwsServiceError, type JsonObject } from '../protocol.ts';

/** The services a Task state reaches from the embedded Step Functions. */
export interface TaskIntegrations {
  /** Runs a Lambda function synchronously, as a Task state does; rejects with the function's error. */
  invokeFunction: (functionArn: string, payload: unknown) => Promise<unknown>;
  /** SendMessage on the embedded SQS, for `arn:aws:states:::sqs:sendMessage` Tasks. */
  sendQueueMessage?: (input: JsonObject) => Promise<unknown>;
}

/** A request-response Task: calls the Lambda function and answers with its result. */
export async function invokeTask(integrations: TaskIntegrations, resource: string, payload: unknown): Promise<unknown> {
  // Both forms of a Lambda task: the function ARN itself, or the optimised integration.
  if (resource.startsWith('arn:aws:states:::lambda:invoke')) {
    const { FunctionName, Payload } = (payload ?? {}) as { FunctionName?: string; Payload?: unknown };
    const result = await integrations.invokeFunction(String(FunctionName), Payload);
    return { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' };
  }
  if (resource.startsWith('arn:aws:lambda:')) return integrations.invokeFunction(resource, payload);
  throw statesRuntime(`the embedded Step Functions cannot run tasks on ${resource}`);
}

/** A callback Task's start: the parameters, the token in them, go to the Lambda function or the queue. */
export async function handOverToken(integrations: TaskIntegrations, resource: string, withToken: unknown): Promise<void> {
  const integration = resource.slice(0, -'.waitForTaskToken'.length);
  if (integration === 'arn:aws:states:::lambda:invoke') {
    const { FunctionName, Payload } = (withToken ?? {}) as { FunctionName?: string; Payload?: unknown };
    await integrations.invokeFunction(String(FunctionName), Payload);
    return;
  }
  if (integration === 'arn:aws:states:::sqs:sendMessage') {
    if (!integrations.sendQueueMessage) throw statesRuntime('the embedded Step Functions has no SQS to send to');
    const { MessageBody, ...message } = (withToken ?? {}) as Record<string, unknown>;
    try {
      await integrations.sendQueueMessage({ ...message, MessageBody: typeof MessageBody === 'string' ? MessageBody : JSON.stringify(MessageBody) });
    } catch (error) {
      // Step Functions names a service integration's error <Service>.<code>.
      const failure = new Error(error instanceof Error ? error.message : String(error));
      failure.name = `SQS.${error instanceof AwsServiceError ? error.code : 'SdkClientException'}`;
      throw failure;
    }
    return;
  }
  throw statesRuntime(`the embedded Step Functions cannot wait for a task token on ${resource}`);
}

/** A Task's TimeoutSeconds, on the real clock: the handler's work takes real time. */
export async function withTimeout<T>(work: Promise<T>, timeoutSeconds: number | undefined): Promise<T> {
  if (!timeoutSeconds) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`the task did not finish within ${timeoutSeconds} seconds`);
      error.name = 'States.Timeout';
      reject(error);
    }, timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function statesRuntime(message: string): Error {
  const error = new Error(message);
  error.name = 'States.Runtime';
  return error;
}
