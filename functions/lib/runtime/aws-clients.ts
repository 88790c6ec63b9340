import type { KMSClientConfig } from '@aws-sdk/client-kms';
import { ClockRetryStrategy } from './retry-strategy.ts';

/**
 * How the SDK reaches AWS over HTTP. A Lambda instance runs one invocation at a time, so the SDK's
 * 50 sockets are plenty on AWS (https); a host that runs thousands of invocations at once in one
 * process (the embedded AWS, plain http on loopback) needs more, or its calls queue.
 */
function overHttp(): HttpRequestHandlerOptions {
  return { httpAgent: { keepAlive: true, maxSockets: 1024 } };
}

interface HttpRequestHandlerOptions {
  httpAgent: { keepAlive: boolean; maxSockets: number };
}

/**
 * A host that runs the handlers in-process may carry their requests itself (the embedded AWS hands
 * them to its services without a socket), given what the client would otherwise send them with,
 * and may give them a signer of its own. On Lambda there is none, and the SDK signs and sends every
 * request over HTTP.
 */
export interface ClientHost {
  requestHandler(overHttp: HttpRequestHandlerOptions): NonNullable<KMSClientConfig['requestHandler']>;
  /** The constructor of the clients' request signers (see ReusedSignatureV4 in the embedded AWS). */
  signerConstructor?: KMSClientConfig['signerConstructor'];
}

// A global slot, as for the clock (see clock.ts): a host may load the handlers through another module instance.
const slot = Symbol.for('crypto-erasure.request-handler-host');
type HostSlot = { [slot]?: ClientHost };

/** What every handler's SDK client is built with. */
export function clientConfig(retries: { maxAttempts?: number } = {}) {
  const host = (globalThis as HostSlot)[slot];
  return {
    retryStrategy: new ClockRetryStrategy(retries),
    requestHandler: host ? host.requestHandler(overHttp()) : overHttp(),
    ...(host?.signerConstructor ? { signerConstructor: host.signerConstructor } : {}),
  };
}

/** Installs `host` for every client built from now on in this process; returns a function that restores the previous one. */
export function useClientHost(host: ClientHost): () => void {
  const holder = globalThis as HostSlot;
  const previous = holder[slot];
  holder[slot] = host;
  return () => {
    holder[slot] = previous;
  };
}
