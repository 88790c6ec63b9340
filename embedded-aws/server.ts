import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Activity } from './activity.ts';
import { AwsServiceError, type HttpJsonService, type JsonService, type QueryService, type RequestContext } from './protocol.ts';
import { operationOf, watchErrorCode, type RequestMeter } from './request-meter.ts';

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

/**
 * One loopback HTTP endpoint for every embedded service, as `AWS_ENDPOINT_URL` expects: JSON
 * protocols are routed by their X-Amz-Target prefix, query protocols by the SigV4 signing name in
 * the Authorization header. The Region comes from the same header, so one server can hold several
 * Regions' worth of state.
 */
export class EmbeddedAwsServer {
  private readonly server: Server;
  private readonly jsonServices: Map<string, JsonService>;
  private readonly httpJsonServices: Map<string, HttpJsonService>;
  private readonly queryServices: Map<string, QueryService>;
  private readonly options: ServerOptions;

  constructor(options: ServerOptions) {
    this.options = options;
    this.jsonServices = new Map(options.jsonServices.map((service) => [service.targetPrefix, service]));
    this.httpJsonServices = new Map((options.httpJsonServices ?? []).map((service) => [service.targetPrefix, service]));
    this.queryServices = new Map(options.queryServices.map((service) => [service.signingName, service]));
    this.server = createServer((request, response) => {
      const serve = () => this.route(request, response);
      (options.activity?.run(`request ${String(request.headers['x-amz-target'] ?? request.url)}`, serve) ?? serve()).catch((error: unknown) => {
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

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const credential = parseCredentialScope(request.headers.authorization);
    const context: RequestContext = {
      region: credential.region ?? this.options.defaultRegion,
      accountId: this.options.accountId,
      accessKeyId: credential.accessKeyId ?? 'AKIAEMBEDDED',
      requestId: randomUUID(),
    };
    const target = request.headers['x-amz-target'];
    const errorCode = this.options.meter ? watchErrorCode(response) : undefined;
    const meter = (body: string | undefined) =>
      this.options.meter?.({ service: credential.service ?? '', ...operationOf(typeof target === 'string' ? target : undefined, body), errorCode: errorCode?.() });
    const httpJsonService = typeof target === 'string' ? this.httpJsonServices.get(target.split('.')[0] ?? '') : undefined;
    if (httpJsonService) {
      await httpJsonService.serve(request, response, context);
      meter(undefined);
      return;
    }
    const body = await readBody(request);
    if (typeof target === 'string') {
      await this.routeJson(target, body, context, response);
      meter(body);
      return;
    }
    const service = credential.service ? this.queryServices.get(credential.service) : undefined;
    if (service && request.method === 'POST') {
      await this.routeQuery(service, body, context, response);
      meter(body);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('the embedded AWS does not serve this request\n');
  }

  private async routeJson(target: string, body: string, context: RequestContext, response: ServerResponse) {
    const [prefix = '', operation = ''] = target.split('.');
    const service = this.jsonServices.get(prefix);
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': context.requestId };
    try {
      if (!service) throw new AwsServiceError('UnknownOperationException', `unknown service ${prefix}`);
      const input = body.length > 0 ? (JSON.parse(body) as Record<string, unknown>) : {};
      const output = await service.handle(operation, input, context);
      response.writeHead(200, headers);
      response.end(JSON.stringify(output));
    } catch (error) {
      const failure = asServiceError(error);
      response.writeHead(failure.statusCode, { ...headers, 'x-amzn-errortype': failure.code });
      response.end(JSON.stringify({ __type: failure.code, message: failure.message }));
    }
  }

  private async routeQuery(service: QueryService, body: string, context: RequestContext, response: ServerResponse) {
    const params = Object.fromEntries(new URLSearchParams(body));
    const headers = { 'content-type': 'text/xml', 'x-amzn-requestid': context.requestId };
    try {
      const action = params.Action;
      if (!action) throw new AwsServiceError('MissingAction', 'the request names no Action');
      const xml = await service.handle(action, params, context);
      response.writeHead(200, headers);
      response.end(xml);
    } catch (error) {
      const failure = asServiceError(error);
      response.writeHead(failure.statusCode, headers);
      response.end(service.errorBody(failure, context.requestId));
    }
  }
}

function asServiceError(error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  if (error instanceof SyntaxError) return new AwsServiceError('SerializationException', error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new AwsServiceError('InternalFailure', message, 500);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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
