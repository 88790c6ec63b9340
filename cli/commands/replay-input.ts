import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../exit-codes.ts';

/**
 * An event as upstream systems put it on the closure bus: EventBridge's envelope, of which a replay
 * needs `detail-type`, `source` and `detail` (EventBridge fills in the rest when it is sent again).
 * It is not checked against the closure contract here: replaying a broken closure, to see it
 * refused into the dead-letter queue, is a legitimate use.
 */
export interface ClosureEventLike {
  'detail-type': string;
  source: string;
  detail: Record<string, unknown>;
  id?: string;
  time?: string;
  resources?: string[];
  [field: string]: unknown;
}

/** An event read for a replay, and where it was read: `file` (an object), `file[i]` (an array's), `file:line` (JSON lines). */
export interface ReplayEvent {
  origin: string;
  event: ClosureEventLike;
}

/**
 * Reads the events to replay from files and directories (a directory stands for its `*.json`
 * files, sorted by name, but for a `world.json`). A file holds one event (a JSON object), an array of events, or JSON
 * lines (one event per line). Anything unreadable is bad input, told in one line naming the file.
 */
export function readReplayInput(paths: string[]): ReplayEvent[] {
  if (paths.length === 0) throw new CliError('badInput', 'name at least one file or directory of events to replay');
  const events = paths.flatMap((path) => filesOf(path)).flatMap((file) => eventsIn(file));
  if (events.length === 0) throw new CliError('badInput', `no events to replay in ${paths.join(', ')}`);
  return events;
}

function filesOf(path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw new CliError('badInput', `cannot read ${path}: ${describeFsError(error)}`);
  }
  if (!isDirectory) return [path];
  const files = readdirSync(path)
    // A catalog's world.json is the world a local replay starts from, not an event.
    .filter((name) => name.endsWith('.json') && name !== 'world.json')
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new CliError('badInput', `${path} holds no *.json files`);
  return files;
}

function eventsIn(file: string): ReplayEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError('badInput', `cannot read ${file}: ${describeFsError(error)}`);
  }
  if (text.trim() === '') throw new CliError('badInput', `${file} is empty: no events to replay`);

  const document = parseDocument(text);
  if (document.parsed) {
    const { value } = document;
    if (Array.isArray(value)) return value.map((item, index) => replayEvent(item, `${file}[${index}]`));
    return [replayEvent(value, file)];
  }
  // One JSON value per line; a first line that is no JSON value on its own means the file was
  // meant as one document, and the error is that document's.
  const lines = text.split('\n');
  const firstLine = lines.findIndex((line) => line.trim() !== '');
  if (!parseDocument(lines[firstLine]!).parsed) throw invalidJson(file, text, document.error);
  return lines.flatMap((line, index) => {
    if (line.trim() === '') return [];
    const parsedLine = parseDocument(line);
    if (!parsedLine.parsed) throw invalidJson(`${file}:${index + 1}`, line, parsedLine.error, false);
    return [replayEvent(parsedLine.value, `${file}:${index + 1}`)];
  });
}

type Parsed = { parsed: true; value: unknown } | { parsed: false; error: SyntaxError };

function parseDocument(text: string): Parsed {
  try {
    return { parsed: true, value: JSON.parse(text) };
  } catch (error) {
    return { parsed: false, error: error as SyntaxError };
  }
}

function invalidJson(where: string, text: string, error: SyntaxError, withLine = true): CliError {
  // V8 reports the offset ("at position 42"); people read lines.
  const position = /at position (\d+)/.exec(error.message);
  const offset = position ? Number(position[1]) : text.length;
  const line = text.slice(0, offset).split('\n').length;
  const reason = error.message.replace(/,? ?(in JSON )?at position \d+.*$/, '').replace(/ in JSON$/, '');
  return new CliError('badInput', `${withLine ? `${where}:${line}` : where}: invalid JSON (${reason})`);
}

function replayEvent(value: unknown, origin: string): ReplayEvent {
  const missing = isObject(value)
    ? [
        typeof value['detail-type'] === 'string' ? [] : ['detail-type'],
        typeof value.source === 'string' ? [] : ['source'],
        isObject(value.detail) ? [] : ['detail'],
      ].flat()
    : ['detail-type', 'source', 'detail'];
  if (missing.length > 0) {
    throw new CliError('badInput', `${origin}: not an EventBridge event (no ${missing.join(', no ')}; an event needs detail-type, source and an object detail)`);
  }
  return { origin, event: value as ClosureEventLike };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (error as Error).message;
}
