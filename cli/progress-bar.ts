import { SingleBar } from 'cli-progress';

/** How a long command tells its progress: a bar for a person at a terminal, nothing for a pipe or a machine. */
export interface Progress {
  start(total: number): void;
  advance(count: number): void;
  stop(): void;
}

export const noProgress: Progress = { start() {}, advance() {}, stop() {} };

/**
 * A bar on stderr (stdout carries the command's output, which may be piped) when stderr is a
 * terminal and the output is for people; otherwise nothing.
 */
export function terminalProgress(label: string, options: { json?: boolean }, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (options.json || !stream.isTTY) return noProgress;
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total} {eta_formatted}`,
    clearOnComplete: true,
    hideCursor: true,
  });
  return {
    start: (total) => bar.start(total, 0),
    advance: (count) => bar.increment(count),
    stop: () => bar.stop(),
  };
}
