/**
 * What the embedded services share about AWS's wire protocols: the error they throw, and the
 * request context (Region, account) every operation sees.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** An error as AWS returns it: a named exception with a message, and the HTTP status it travels with. */
export class AwsServiceError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.statusCode = statusCode;
  }
}

export interface RequestContext {
  region: string;
  accountId: string;
  /** The access key of the caller, as it appears in CloudTrail's userIdentity. */
  accessKeyId: string;
  requestId: string;
  /** Set for the one unsigned call AWS serves: an SNS SubscribeURL fetched by the subscriber. */
  unsigned?: true;
}

export type JsonObject = Record<string, unknown>;

/** AWS's JSON protocols carry timestamps as epoch seconds (with a fraction). */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** A service speaking AWS JSON 1.0 or 1.1: one call per X-Amz-Target operation. */
export interface JsonService {
  /** The X-Amz-Target prefix, e.g. `TrentService` for KMS. */
  readonly targetPrefix: string;
  handle(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject>;
}

/**
 * A request as it reaches an embedded service, whichever way it came: over loopback HTTP, or handed
 * over in-process by the SDK clients of the functions the embedded Lambda runs (see
 * lambda/in-process-transport.ts).
 */
export interface WireRequest {
  method: string;
  /** Path and query string. */
  url: string;
  /** Lower-case names, as Node gives an incoming request's. */
  headers: IncomingHttpHeaders;
  body: string;
}

/** An answer as it goes back on the wire. */
export interface WireAnswer {
  statusCode: number;
  headers: Record<string, string | number>;
  body: string;
}

/**
 * A JSON-protocol service that reads the request itself, headers and body as they came: DynamoDB,
 * whose requests dynalite's own HTTP handler answers, and SQS.
 */
export interface HttpJsonService {
  /** The X-Amz-Target prefix, e.g. `DynamoDB_20120810`. */
  readonly targetPrefix: string;
  serve(request: WireRequest, context: RequestContext): Promise<WireAnswer>;
}

/** A service speaking the AWS query protocol (form-encoded request, XML response), such as SNS. */
export interface QueryService {
  /** The SigV4 signing name, e.g. `sns`, used to route a form-encoded request. */
  readonly signingName: string;
  /** Returns the XML body of a successful response. */
  handle(action: string, params: Record<string, string>, context: RequestContext): Promise<string>;
  /** The XML body of an error response. */
  errorBody(error: AwsServiceError, requestId: string): string;
}

/** An event as the embedded services put it on the local EventBridge (the fields of a PutEvents entry). */
export interface AwsEvent {
  source: string;
  detailType: string;
  detail: JsonObject;
  resources: string[];
  region: string;
  accountId: string;
  time: Date;
}

/** Where a service sends the events AWS would emit for it (CloudTrail records, KMS CMK Deletion). */
export type EventSink = (event: AwsEvent) => void;

export interface ServiceCall {
  service: string;
  operation: string;
  input: JsonObject;
  region: string;
}

/**
 * A fault point: consulted before every operation; returning an error makes the call fail with it.
 * Fault-injection and soak tests use it to throttle, fail or slow any call without touching the code.
 */
export type FaultInjector = (call: ServiceCall) => AwsServiceError | undefined;
