import { parentPort, workerData } from 'node:worker_threads';
import { Dynalite, type DynaliteOpenOptions } from './dynalite.ts';
import type { DynaliteCall, DynaliteReply } from './dynalite-thread.ts';

/** The thread dynalite runs in (see dynalite-thread.ts): one call per message, answered by its id. */
const port = parentPort!;
const dynalite = await Dynalite.open(workerData as DynaliteOpenOptions);

port.on('message', ({ id, call }: { id: number; call: DynaliteCall }) => {
  void run(call).then(
    (result) => port.postMessage({ id, result } satisfies DynaliteReply),
    (error: unknown) => port.postMessage({ id, error } satisfies DynaliteReply),
  );
});
port.postMessage('ready');

async function run(call: DynaliteCall): Promise<unknown> {
  switch (call.operation) {
    case 'answer':
      // A Buffer arrives as a plain Uint8Array.
      return dynalite.answer({ ...call.request, body: Buffer.from(call.request.body.buffer, call.request.body.byteOffset, call.request.body.byteLength) });
    case 'get':
      return dynalite.database.get(call.key);
    case 'put':
      return dynalite.database.put(call.key, call.value);
    case 'del':
      return dynalite.database.del(call.key);
    case 'close':
      await dynalite.close();
      // Nothing left to answer: the port closing ends the thread.
      setImmediate(() => port.close());
      return undefined;
  }
}
