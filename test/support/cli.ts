import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** The `erasure` command as a user runs it: a child process, its output and its exit code. */
export function erasure(args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/erasure.js', ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}
