import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpHandlerOptions, HttpResponse } from '@smithy/types';
import type { WireAnswer, WireRequest } from '../protocol.ts';

type HttpRequest = Parameters<NodeHttpHandler['handle']>[0];

/** Where a request handed over in-process is served: the embedded AWS's endpoint, without its socket. */
export interface InProcessEndpoint {
  /** `http://127.0.0.1:<port>`, as the functions' AWS_ENDPOINT_URL names it. */
  url: string;
  dispatch(request: WireRequest): Promise<WireAnswer>;
  /** False once the embedded AWS has closed. */
  readonly open: boolean;
}

/**
 * The request handler of the SDK clients of the functions the embedded Lambda runs. Every request
 * still goes through the client's whole middleware stack (serialisation, endpoint, retries,
 * signing) exactly as on AWS; only its last step differs: instead of writing it to a loopback socket
 * for the embedded AWS's own HTTP server to read back, it hands the same method, path, headers and
 * body to the server's routing in-process, and the answer comes back as the SDK would have read it.
 * The server serves and meters it as one that came over the socket (see EmbeddedAwsServer.dispatch).
 *
 * A request for any other endpoint (a client kept from an embedded AWS since closed) goes over HTTP,
 * as the client would have sent it without this handler.
 */
export class InProcessTransport {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly endpoint: InProcessEndpoint;
  private readonly host: string;
  private readonly overHttpOptions: NodeHttpHandlerOptions;
  private overHttp: NodeHttpHandler | undefined;

  constructor(endpoint: InProcessEndpoint, overHttp: NodeHttpHandlerOptions) {
    this.endpoint = endpoint;
    this.host = new URL(endpoint.url).host;
    this.overHttpOptions = overHttp;
  }

  async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    if (!this.endpoint.open || hostOf(request) !== this.host) {
      this.overHttp ??= new NodeHttpHandler(this.overHttpOptions);
      return this.overHttp.handle(request, options);
    }
    if (options.abortSignal?.aborted) throw abortError();
    const answer = await this.endpoint.dispatch({ method: request.method, url: urlOf(request), headers: headersOf(request), body: await bodyOf(request.body) });
    const body = Buffer.from(answer.body);
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    for (const [name, value] of Object.entries(answer.headers)) headers[name.toLowerCase()] = String(value);
    return { response: { statusCode: answer.statusCode, headers, body } };
  }

  updateHttpClientConfig(key: keyof NodeHttpHandlerOptions, value: NodeHttpHandlerOptions[typeof key]): void {
    (this.overHttpOptions as Record<string, unknown>)[key] = value;
    this.overHttp?.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): NodeHttpHandlerOptions {
    return this.overHttpOptions;
  }

  destroy(): void {
    this.overHttp?.destroy();
    this.overHttp = undefined;
  }
}

function hostOf(request: HttpRequest): string {
  return request.port === undefined ? request.hostname : `${request.hostname}:${request.port}`;
}

function urlOf(request: HttpRequest): string {
  if (request.query === undefined || Object.keys(request.query).length === 0) return request.path;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(request.query)) {
    if (value === null) query.append(name, '');
    else for (const item of Array.isArray(value) ? value : [value]) query.append(name, item);
  }
  const search = query.toString();
  return search === '' ? request.path : `${request.path}?${search}`;
}

/** Lower-case names, as the server reads an incoming request's. */
function headersOf(request: HttpRequest): WireRequest['headers'] {
  const headers: WireRequest['headers'] = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

async function bodyOf(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }
  throw new TypeError('the embedded AWS takes request bodies as text, bytes or a stream');
}

/** As NodeHttpHandler rejects an aborted request. */
function abortError(): Error {
  const error = new Error('Request aborted');
  error.name = 'AbortError';
  return error;
}

type SignerParams = ConstructorParameters<typeof SignatureV4>[0];

// The signers already built, by client (its credential provider) and by Region and service.
const signers = new WeakMap<object, Map<string, SignatureV4>>();

/**
 * The SigV4 signer of the functions' SDK clients in-process (their `signerConstructor`). The SDK
 * constructs a signer for every request, which derives its signing key again each time (four
 * HMACs): nothing on Lambda, where an invocation makes a handful of calls, but a tenth of the CPU of
 * thousands of erasures run in one process. This one is constructed the same way and signs the
 * same way, but hands back the signer already built for the client, Region and service, which keeps
 * its derived keys.
 */
// The instances are SignatureV4s (see the constructor), which this declaration tells TypeScript.
export interface ReusedSignatureV4 extends SignatureV4 {}
export class ReusedSignatureV4 {
  constructor(params: SignerParams) {
    const owner = typeof params.credentials === 'object' || typeof params.credentials === 'function' ? params.credentials : ReusedSignatureV4;
    let byScope = signers.get(owner);
    if (!byScope) signers.set(owner, (byScope = new Map()));
    const scope = `${String(params.region)}/${params.service}`;
    let signer = byScope.get(scope);
    if (!signer) byScope.set(scope, (signer = new SignatureV4(params)));
    // A constructor may hand back another object: `new ReusedSignatureV4(params)` is that signer.
    return signer;
  }
}
