import type { IncomingHttpHeaders, RequestListener, Server } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';

const require = createRequire(import.meta.url);

interface DynaliteOptions {
  path?: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}

/** The parts of dynalite's store this adapter uses (dynalite ships no types). */
interface DynaliteStore {
  /** Where dynalite reads the Region and account of the table ARNs it makes. */
  tableDb: { awsRegion: string; awsAccountId: string };
  /** The one LevelDB (or memory-level) database, JSON-valued; promise-returning without a callback. */
  db: {
    open(): Promise<void>;
    get(key: string): Promise<unknown>;
    put(key: string, value: unknown): Promise<void>;
    del(key: string): Promise<void>;
  };
  lifecycleManager: { gracefulClose(): Promise<void> };
}

const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;
// The module whose create() dynalite's index.js calls for its store (same file, so the same module).
const dynaliteDb = require('dynalite/db/index.js') as { create(options: DynaliteOptions): DynaliteStore };

/** dynalite's answer to one request, before it goes on the wire. */
export interface DynaliteAnswer {
  statusCode: number;
  headers: Record<string, string | number>;
  body: string;
}

export interface DynaliteRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * dynalite (DynamoDB on LevelDB or in memory) driven in-process: its own HTTP request handler
 * answers each request, without the server it comes with ever listening. Its store is kept at
 * hand because dynalite's server closes the database only once it has stopped listening, which
 * a server that never listened cannot do.
 */
export class Dynalite {
  private readonly handle: RequestListener;
  private readonly store: DynaliteStore;

  private constructor(handle: RequestListener, store: DynaliteStore) {
    this.handle = handle;
    this.store = store;
  }

  /** Opens dynalite's database: LevelDB at `path`, in memory without one. Tables are ACTIVE at once. */
  static async open(options: { path?: string; region: string; accountId: string }): Promise<Dynalite> {
    let store: DynaliteStore | undefined;
    const create = dynaliteDb.create;
    dynaliteDb.create = (dynaliteOptions) => (store = create(dynaliteOptions));
    let server: Server;
    try {
      server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    } finally {
      dynaliteDb.create = create;
    }
    if (!store) throw new Error('dynalite created no store; its internals have changed');
    // dynalite reads these from AWS_REGION and AWS_ACCOUNT_ID once; the embedded AWS knows better.
    store.tableDb.awsRegion = options.region;
    store.tableDb.awsAccountId = options.accountId;
    try {
      await store.db.open();
    } catch (error) {
      // LEVEL_DATABASE_NOT_OPEN carries the reason (LEVEL_LOCKED: another process has it open).
      const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new Error(`cannot open the DynamoDB data in ${options.path}: ${reason}`);
    }
    const [handle] = server.listeners('request') as RequestListener[];
    if (!handle) throw new Error('dynalite gave its server no request handler; its internals have changed');
    return new Dynalite(handle, store);
  }

  /** dynalite's HTTP handler reads the request as if from a socket, and writes its answer here. */
  answer(request: DynaliteRequest): Promise<DynaliteAnswer> {
    return new Promise((resolve) => {
      const incoming = Object.assign(Readable.from(request.body.length > 0 ? [request.body] : []), {
        method: request.method,
        url: request.url ?? '/',
        headers: request.headers,
      });
      const headers: Record<string, string | number> = {};
      const outgoing = {
        statusCode: 200,
        setHeader: (name: string, value: string | number) => (headers[name.toLowerCase()] = value),
        end: (body?: string) => resolve({ statusCode: outgoing.statusCode, headers, body: body ?? '' }),
      };
      this.handle(incoming as never, outgoing as never);
    });
  }

  get database(): DynaliteStore['db'] {
    return this.store.db;
  }

  /** Waits for the operations in flight, then closes the database (releasing LevelDB's lock). */
  close(): Promise<void> {
    return this.store.lifecycleManager.gracefulClose();
  }
}

/** An answer in dynalite's form (and DynamoDB's): JSON 1.0 with its CRC32, as the SDK may check it. */
export function jsonAnswer(statusCode: number, payload: unknown, requestId: string): DynaliteAnswer {
  const body = JSON.stringify(payload);
  return {
    statusCode,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amz-crc32': crc32(body),
      'x-amzn-requestid': requestId,
    },
    body,
  };
}
