import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Activity } from './activity.ts';
import {
  AwsServiceError,
  type HttpJsonService,
  type JsonService,
  type QueryService,
  type RequestContext,
  type WireAnswer,
  type WireRequest,
} from './protocol.ts';
import { errorCodeOf, operationOf, type RequestMeter } from './request-meter.ts';

export interface ServerOptions {
  port?: number;
  host?: string;
  defaultRegion: string;
  accountId: string;
  jsonServices: JsonService[];
  /** JSON-protocol services that read the request themselves (DynamoDB). */
  httpJsonServices?: HttpJsonService[];
  queryServices: QueryService[];
  /** Told of every request served and the error it was answered with (see request-meter.ts). */
  meter?: RequestMeter;
  /** Counts each request as a unit of work while it is served (see activity.ts). */
  activity?: Activity;
}

const NOT_SERVED: WireAnswer = { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'the embedded AWS does not serve this request\n' };

/**
 * One loopback HTTP endpoint for every embedded service, as `AWS_ENDPOINT_URL` expects: JSON
 * protocols are routed by their X-Amz-Target prefix, query protocols by the SigV4 signing name in
 * the Authorization header. The Region comes from the same header, so one server can hold several
 * Regions' worth of state. The same requests can also be handed over in-process (`dispatch`).
 */
export class EmbeddedAwsServer {
  private readonly server: Server;
  private readonly jsonServices: Map<string, JsonService>;
  private readonly httpJsonServices: Map<string, HttpJsonService>;
  private readonly queryServices: Map<string, QueryService>;
  private readonly options: ServerOptions;
  /**
   * The async context a request arriving on the socket is served in: none of its caller's (its
   * unit of work, its Lambda invocation's store), so a request handed over in-process is served
   * in this one too.
   */
  private readonly requestScope = new AsyncResource('EmbeddedAwsRequest');

  constructor(options: ServerOptions) {
    this.options = options;
    this.jsonServices = new Map(options.jsonServices.map((service) => [service.targetPrefix, service]));
    this.httpJsonServices = new Map((options.httpJsonServices ?? []).map((service) => [service.targetPrefix, service]));
    this.queryServices = new Map(options.queryServices.map((service) => [service.signingName, service]));
    this.server = createServer((request, response) => {
      const serve = () => this.serveHttp(request, response);
      (options.activity?.run(requestLabel(request.headers, request.url), serve) ?? serve()).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(String(error));
      });
    });
  }

  async listen(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'EADDRINUSE' ? new Error(`port ${this.options.port} is already in use on ${host}; choose another with --port`) : error);
      });
      this.server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://${host}:${port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Serves a request handed over in-process as if it had come over the socket: the same routing,
   * meter and unit of work, in the context a socket's request gets (see requestScope).
   */
  async dispatch(request: WireRequest): Promise<WireAnswer> {
    // Over loopback a request reaches the server, and its answer the client, each a turn of the
    // event loop later: the same turns here let timers and I/O run between a handler's calls, as
    // they do when the calls go over the socket.
    await nextTurn();
    const answer = await this.requestScope.runInAsyncScope(() => {
      const serve = () => this.answer(request).catch((error: unknown): WireAnswer => ({ statusCode: 500, headers: { 'content-type': 'text/plain' }, body: String(error) }));
      return this.options.activity?.run(requestLabel(request.headers, request.url), serve) ?? serve();
    });
    await nextTurn();
    return answer;
  }

  private async serveHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const answer = await this.answer({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: await readBody(request) });
    response.writeHead(answer.statusCode, answer.headers);
    response.end(answer.body);
  }

  private async answer(request: WireRequest): Promise<WireAnswer> {
    const credential = parseCredentialScope(request.headers.authorization);
    const context: RequestContext = {
      region: credential.region ?? this.options.defaultRegion,
      accountId: this.options.accountId,
      accessKeyId: credential.accessKeyId ?? 'AKIAEMBEDDED',
      requestId: randomUUID(),
    };
    const target = request.headers['x-amz-target'];
    const meter = (answer: WireAnswer, body: string | undefined, service = credential.service ?? '') =>
      this.options.meter?.({
        service,
        ...operationOf(typeof target === 'string' ? target : undefined, body),
        errorCode: answer.statusCode < 400 ? undefined : errorCodeOf(answer.body, answer.statusCode),
      });
    const httpJsonService = typeof target === 'string' ? this.httpJsonServices.get(target.split('.')[0] ?? '') : undefined;
    if (httpJsonService) {
      const answer = await httpJsonService.serve(request, context);
      meter(answer, undefined);
      return answer;
    }
    if (typeof target === 'string') {
      const answer = await this.answerJson(target, request.body, context);
      meter(answer, request.body);
      return answer;
    }
    const service = credential.service ? this.queryServices.get(credential.service) : undefined;
    if (service && request.method === 'POST') {
      const answer = await this.answerQuery(service, request.body, context);
      meter(answer, request.body);
      return answer;
    }
    const subscribeUrl = request.method === 'GET' && request.headers.authorization === undefined ? subscribeUrlCall(request.url) : undefined;
    const sns = this.queryServices.get('sns');
    if (subscribeUrl && sns) {
      // A SubscribeURL is fetched by the subscriber, unsigned: ConfirmSubscription in its query
      // string, in the topic's Region (Developer Guide, "Confirm the subscription").
      const unsigned: RequestContext = { ...context, region: subscribeUrl.region, accessKeyId: 'anonymous', unsigned: true };
      const answer = await this.answerQuery(sns, subscribeUrl.query, unsigned);
      meter(answer, subscribeUrl.query, 'sns');
      return answer;
    }
    return NOT_SERVED;
  }

  private async answerJson(target: string, body: string, context: RequestContext): Promise<WireAnswer> {
    const [prefix = '', operation = ''] = target.split('.');
    const service = this.jsonServices.get(prefix);
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': context.requestId };
    try {
      if (!service) throw new AwsServiceError('UnknownOperationException', `unknown service ${prefix}`);
      const input = body.length > 0 ? (JSON.parse(body) as Record<string, unknown>) : {};
      const output = await service.handle(operation, input, context);
      return { statusCode: 200, headers, body: JSON.stringify(output) };
    } catch (error) {
      const failure = asServiceError(error);
      return { statusCode: failure.statusCode, headers: { ...headers, 'x-amzn-errortype': failure.code }, body: JSON.stringify({ __type: failure.code, message: failure.message }) };
    }
  }

  private async answerQuery(service: QueryService, body: string, context: RequestContext): Promise<WireAnswer> {
    const params = Object.fromEntries(new URLSearchParams(body));
    const headers = { 'content-type': 'text/xml', 'x-amzn-requestid': context.requestId };
    try {
      const action = params.Action;
      if (!action) throw new AwsServiceError('MissingAction', 'the request names no Action');
      const xml = await service.handle(action, params, context);
      return { statusCode: 200, headers, body: xml };
    } catch (error) {
      const failure = asServiceError(error);
      return { statusCode: failure.statusCode, headers, body: service.errorBody(failure, context.requestId) };
    }
  }
}

/** `/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:<region>:...&Token=...`: the query and the topic's Region. */
function subscribeUrlCall(url: string): { query: string; region: string } | undefined {
  const query = url.split('?')[1];
  if (query === undefined) return undefined;
  const params = new URLSearchParams(query);
  if (params.get('Action') !== 'ConfirmSubscription') return undefined;
  const region = /^arn:[^:]+:sns:([^:]+):/.exec(params.get('TopicArn') ?? '')?.[1];
  return region === undefined ? undefined : { query, region };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function requestLabel(headers: WireRequest['headers'], url: string | undefined): string {
  return `request ${String(headers['x-amz-target'] ?? url)}`;
}

function asServiceError(error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  if (error instanceof SyntaxError) return new AwsServiceError('SerializationException', error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new AwsServiceError('InternalFailure', message, 500);
}

/** The request's body, read through its events (cheaper than iterating the stream asynchronously). */
function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8')));
    request.on('error', reject);
  });
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20261122/eu-west-1/kms/aws4_request, ...` */
export function parseCredentialScope(authorization: string | undefined): {
  accessKeyId?: string;
  region?: string;
  service?: string;
} {
  const match = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  if (!match) return {};
  return { accessKeyId: match[1], region: match[2], service: match[3] };
}
