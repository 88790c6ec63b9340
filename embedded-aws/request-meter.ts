import { AwsServiceError, type JsonObject } from './protocol.ts';

/**
 * One request an embedded service answered, whoever sent it: an SDK over loopback, or AWS itself
 * in-process (EventBridge invoking a function, Step Functions running a task, an alarm publishing).
 * It is what a bill or a quota counts, so a benchmark can count it without knowing any service's
 * internals or the pipeline's design.
 */
export interface MeteredRequest {
  /** The SigV4 signing name: kms, events, states, sns, sqs, dynamodb, monitoring, lambda. */
  service: string;
  operation: string;
  /** The AWS error the request was answered with (ThrottlingException...); undefined when it was accepted. */
  errorCode: string | undefined;
  /** The request's parameters; empty for the services that read the request themselves (DynamoDB, SQS over JSON). */
  input: JsonObject;
}

/** Told of every request as it is answered. It must not throw: it runs on the services' own path. */
export type RequestMeter = (request: MeteredRequest) => void;

/** Runs an in-process call to a service and tells the meter how it was answered. */
export async function metered<T>(meter: RequestMeter | undefined, request: Omit<MeteredRequest, 'errorCode'>, call: () => Promise<T>): Promise<T> {
  if (!meter) return call();
  try {
    const result = await call();
    meter({ ...request, errorCode: undefined });
    return result;
  } catch (error) {
    meter({ ...request, errorCode: error instanceof AwsServiceError ? error.code : error instanceof Error ? error.name : 'InternalFailure' });
    throw error;
  }
}

/**
 * The AWS error code of an answer, read from its body as the SDKs read it: JSON's `__type`
 * (namespace dropped), or an XML `<Code>`. Only asked of an error status.
 */
export function errorCodeOf(body: string, statusCode: number): string {
  try {
    const type = (JSON.parse(body) as { __type?: unknown }).__type;
    if (typeof type === 'string') return type.split('#').at(-1) ?? type;
  } catch {
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    if (code) return code;
  }
  return `HTTP${statusCode}`;
}

/** The operation and parameters of a request as it came over the wire: a JSON target, or a query `Action`. */
export function operationOf(target: string | undefined, body: string | undefined): { operation: string; input: JsonObject } {
  if (target !== undefined) {
    let input: JsonObject = {};
    try {
      const parsed: unknown = body ? JSON.parse(body) : {};
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) input = parsed as JsonObject;
    } catch {
      // A body that is not JSON was refused by the service; the request is still counted.
    }
    return { operation: target.split('.')[1] ?? '', input };
  }
  const input: JsonObject = Object.fromEntries(new URLSearchParams(body ?? ''));
  return { operation: typeof input.Action === 'string' ? input.Action : '', input };
}
