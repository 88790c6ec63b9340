import { Worker } from 'node:worker_threads';
import type { DynaliteAnswer, DynaliteDatabase, DynaliteOpenOptions, DynaliteRequest } from './dynalite.ts';

/** What the thread is asked: answer a request, or read or write the database beside the tables. */
export type DynaliteCall =
  | { operation: 'answer'; request: DynaliteRequest }
  | { operation: 'get'; key: string }
  | { operation: 'put'; key: string; value: unknown }
  | { operation: 'del'; key: string }
  | { operation: 'close' };

export type DynaliteReply = { id: number; result: unknown } | { id: number; error: unknown };

/**
 * dynalite on a thread of its own (dynalite-worker.ts), answering the same calls as the in-process
 * Dynalite. The functions, the SDK and every other embedded service share the main thread; dynalite's
 * validation, expression parsing and LevelDB work are a good part of each ledger call, and on a
 * second core they run beside the rest instead of after it.
 */
export class DynaliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: unknown) => void }>();
  private nextId = 0;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: DynaliteReply) => {
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      // The thread keeps the process alive only while a call waits on it, as dynalite in-process would.
      if (this.pending.size === 0) worker.unref();
      if ('error' in reply) call.reject(reply.error);
      else call.resolve(reply.result);
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`dynalite's thread exited with code ${code}`)));
    worker.unref();
  }

  /** Starts the thread and opens dynalite's database there: LevelDB at `path`, in memory without one. */
  static async open(options: DynaliteOpenOptions): Promise<DynaliteThread> {
    const worker = new Worker(new URL('./dynalite-worker.ts', import.meta.url), { workerData: options });
    await new Promise<void>((resolve, reject) => {
      const exited = (code: number) => reject(new Error(`dynalite's thread exited with code ${code} before it was ready`));
      worker.once('error', reject);
      worker.once('exit', exited);
      worker.once('message', () => {
        worker.off('error', reject);
        worker.off('exit', exited);
        resolve();
      });
    });
    return new DynaliteThread(worker);
  }

  answer(request: DynaliteRequest): Promise<DynaliteAnswer> {
    return this.call({ operation: 'answer', request }) as Promise<DynaliteAnswer>;
  }

  get database(): DynaliteDatabase {
    return {
      get: (key) => this.call({ operation: 'get', key }),
      put: async (key, value) => void (await this.call({ operation: 'put', key, value })),
      del: async (key) => void (await this.call({ operation: 'del', key })),
    };
  }

  /** Waits for the calls in flight, closes the database (releasing LevelDB's lock), and ends the thread. */
  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    await this.call({ operation: 'close' });
    await exited;
  }

  private call(call: DynaliteCall): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, call });
    });
  }

  private failAll(error: unknown): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}
