import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { waitFor } from './embedded.ts';

/** The `erasure` command as a user runs it: a child process, its output and its exit code. */
export function erasure(args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/erasure.js', ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

export interface LocalServer {
  endpoint: string;
  stop(): Promise<void>;
}

/** `npx erasure local` on a free port, as an operator starts it; resolves once it prints its endpoint. */
export async function localServer(): Promise<LocalServer> {
  const server = erasure(['local', '--port', '0']);
  const endpoint = await waitFor(() => /^endpoint (http:\/\/127\.0\.0\.1:\d+)$/m.exec(server.output())?.[1], 'the endpoint line', 30_000);
  return {
    endpoint,
    stop: async () => {
      server.child.kill('SIGTERM');
      await server.exit;
    },
  };
}
