import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, RequestListener, Server } from 'node:http';
import { createRequire } from 'node:module';
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

/** What dynalite's validation hands its expression parser (validations/index.js). */
interface ExpressionContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, unknown>;
  unusedAttrNames: Record<string, true>;
  unusedAttrVals: Record<string, true>;
  isKeyCondition?: boolean;
  [other: string]: unknown;
}
interface ExpressionParser {
  parse(expression: string, options: { context: ExpressionContext }): unknown;
}
// The parser of condition, key condition and filter expressions; validations/index.js calls its
// parse() through this same module object.
const conditionParser = require('dynalite/db/conditionParser.js') as ExpressionParser;
memoizeParser(conditionParser);

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
      // The handler only listens for the body's `data` and `end`: a bare emitter costs less than a stream.
      const incoming = Object.assign(new EventEmitter(), { method: request.method, url: request.url ?? '/', headers: request.headers });
      const headers: Record<string, string | number> = {};
      const outgoing = {
        statusCode: 200,
        setHeader: (name: string, value: string | number) => (headers[name.toLowerCase()] = value),
        end: (body?: string) => resolve({ statusCode: outgoing.statusCode, headers, body: body ?? '' }),
      };
      this.handle(incoming as never, outgoing as never);
      if (request.body.length > 0) incoming.emit('data', request.body);
      incoming.emit('end');
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

// A bound on memory: the ledger's few conditions, and the key conditions of the subjects read
// lately (each names its subject); the oldest is forgotten first.
const PARSED_EXPRESSIONS = 2000;

/**
 * Remembers what dynalite's expression parser made of an expression with its attribute names and
 * values: the PEG parser takes a few hundred microseconds, and the ledger sends the same few
 * expressions with every write and read. Only the same expression with the same names and values
 * (and in the same role) is answered from memory, with a copy (dynalite rewrites a key condition in
 * place), and it marks the same names and values used: dynalite refuses those left unused.
 */
function memoizeParser(parser: ExpressionParser): void {
  const parse = parser.parse.bind(parser);
  const parsed = new Map<string, ParsedExpression>();
  const markUsed = (context: ExpressionContext, { names, values }: ParsedExpression) => {
    for (const name of names) delete context.unusedAttrNames[name];
    for (const value of values) delete context.unusedAttrVals[value];
  };
  parser.parse = (expression, options) => {
    const { context } = options;
    const key = JSON.stringify([expression, context.attrNames ?? null, context.attrVals ?? null, context.isKeyCondition === true]);
    const known = parsed.get(key);
    if (known) {
      markUsed(context, known);
      return copyOf(known.result);
    }
    // Parsed with every name and value unused, to learn which ones this expression uses.
    const names = Object.keys(context.attrNames ?? {});
    const values = Object.keys(context.attrVals ?? {});
    const probe: ExpressionContext = { ...context, unusedAttrNames: allTrue(names), unusedAttrVals: allTrue(values) };
    const result = parse(expression, { ...options, context: probe });
    const expressionParsed: ParsedExpression = {
      result,
      names: names.filter((name) => !(name in probe.unusedAttrNames)),
      values: values.filter((value) => !(value in probe.unusedAttrVals)),
    };
    markUsed(context, expressionParsed);
    if (isPlainData(result)) {
      parsed.set(key, { ...expressionParsed, result: copyOf(result) });
      if (parsed.size > PARSED_EXPRESSIONS) parsed.delete(parsed.keys().next().value!);
    }
    return result;
  };
}

interface ParsedExpression {
  result: unknown;
  /** The attribute names and values the expression uses. */
  names: string[];
  values: string[];
}

function allTrue(keys: string[]): Record<string, true> {
  return Object.fromEntries(keys.map((key) => [key, true as const]));
}

/** Whether copyOf copies the value faithfully: JSON-like data in plain, array or prototype-less objects, as the parser makes them. */
function isPlainData(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'function' && typeof value !== 'symbol' && typeof value !== 'bigint';
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== Array.prototype && prototype !== null) return false;
  return Object.values(value).every(isPlainData);
}

function copyOf<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = copyOf((value as Record<string, unknown>)[key]);
  return copy as T;
}
