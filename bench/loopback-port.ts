import { createServer } from 'node:net';

let chosen: Promise<number> | undefined;

/**
 * The loopback port of every embedded AWS the benchmark starts in this process, one after another.
 * The handlers make their SDK clients once per process, at module scope as on Lambda, with the
 * endpoint of the first embedded AWS they ran on: each later one must listen on the same port, or
 * their calls go to a closed one.
 */
export function benchLoopbackPort(): Promise<number> {
  chosen ??= freeLoopbackPort();
  return chosen;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no loopback port could be found');
  return address.port;
}
