import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../exit-codes.ts';

/**
 * `erasure events`: the catalog of sample events in events/, each a complete EventBridge event an
 * operator can replay as is. What each one is comes from the event itself; what the pipeline does
 * with it, starting from events/world.json, comes from the table below.
 */
export const CATALOG_DIR = fileURLToPath(new URL('../../events/', import.meta.url));

/** The file a replay's keys come from: not an event, but listed with the catalog it serves. */
export const WORLD_FILE = 'world.json';

/**
 * How intake's contract check treats a closure: `accepted` passes the ClosureEvent schema from an
 * allowed source; `malformed` fails the schema; `source-not-allowed` passes the schema from a
 * source not in `allowedEventSources`. Both refusals end ClosureEventInvalid, dead-lettered.
 */
export type ClosureVerdict = 'accepted' | 'malformed' | 'source-not-allowed';

export interface CatalogExpectation {
  /** What the pipeline does with it, replayed on the world of events/world.json. */
  outcome: string;
  /** For events on the closure bus only. */
  closure?: ClosureVerdict;
}

export const CATALOG: Record<string, CatalogExpectation> = {
  'account-closed.json': { closure: 'accepted', outcome: "erases user-4821's key: disabled, scheduled, deleted, completed with a certificate" },
  'account-closed-duplicate.json': { closure: 'accepted', outcome: 'a redelivery of account-closed.json (same id): replayed after it, starts nothing new' },
  'account-closed-with-key-ids.json': { closure: 'accepted', outcome: "erases user-5190's key, found by alias and named in keyIds" },
  'account-closed-unknown-subject.json': { closure: 'accepted', outcome: 'ends SubjectHasNoKey: no key touched' },
  'account-closed-other-subjects-key.json': { closure: 'accepted', outcome: "ends KeyNotOwnedBySubject (keyIds names user-5190's key): no key touched" },
  'account-closed-malformed.json': { closure: 'malformed', outcome: 'refused ClosureEventInvalid (subjectId, closedAt): dead-lettered, no erasure' },
  'account-closed-foreign-source.json': { closure: 'source-not-allowed', outcome: 'refused ClosureEventInvalid (source not allowed): dead-lettered, no erasure' },
  'account-closed-wrong-detail-type.json': { closure: 'malformed', outcome: 'taken by the second rule, refused ClosureEventInvalid (detail-type): dead-lettered' },
  'tenant-closed-several-keys.json': { closure: 'accepted', outcome: "erases tenant-acme's four keys (alias and keyIds) in one erasure" },
  'kms-decrypt-refused-pending-deletion.json': {
    outcome: "alertKeyUse pages on-call (key-used-while-pending-deletion) once user-4821's key is pending deletion",
  },
  [WORLD_FILE]: { outcome: 'the keys and records a replay starts from (erasure replay --world)' },
};

export interface CatalogEntry {
  file: string;
  kind: 'event' | 'world' | 'unreadable' | 'not-an-event';
  /** The event's id, for events. */
  id: string | null;
  what: string;
  outcome: string;
}

/** One entry per `.json` file of the folder, by file name. A file that is not JSON is listed as unreadable. */
export function listCatalog(dir: string = CATALOG_DIR): CatalogEntry[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  } catch (error) {
    throw new CliError('badInput', `cannot list ${dir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (error as Error).message}`);
  }
  return files.sort().map((file) => describeFile(file, readFileSync(join(dir, file), 'utf8')));
}

export function describeFile(file: string, text: string): CatalogEntry {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { file, kind: 'unreadable', id: null, what: 'unreadable: not valid JSON', outcome: 'nothing: it cannot be replayed' };
  }
  const outcome = CATALOG[file]?.outcome ?? 'not in the catalog: see what intake and the rules make of it';
  if (isWorld(document)) {
    const subjects = new Set(document.keys.map((key) => key.subjectId));
    return { file, kind: 'world', id: null, what: `world: ${document.keys.length} keys of ${subjects.size} subjects`, outcome };
  }
  if (!isEvent(document)) return { file, kind: 'not-an-event', id: null, what: 'not an EventBridge event', outcome };
  return { file, kind: 'event', id: document.id, what: describeEvent(document), outcome };
}

interface EventShape {
  id: string;
  'detail-type': string;
  source: string;
  detail: Record<string, unknown>;
}

function isEvent(document: unknown): document is EventShape {
  const event = document as Partial<EventShape> | null;
  return typeof event === 'object' && event !== null && typeof event.id === 'string' && typeof event['detail-type'] === 'string' && typeof event.source === 'string' && typeof event.detail === 'object' && event.detail !== null;
}

function isWorld(document: unknown): document is { keys: { subjectId: string }[] } {
  const keys = (document as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) && keys.every((key) => typeof (key as { subjectId?: unknown } | null)?.subjectId === 'string');
}

function describeEvent(event: EventShape): string {
  const heading = `${event['detail-type']} from ${event.source}`;
  const { detail } = event;
  if (typeof detail.eventName === 'string') {
    return `${heading}: ${detail.eventName}${typeof detail.errorCode === 'string' ? ` refused, ${detail.errorCode}` : ''}`;
  }
  if ('subjectId' in detail) {
    const keyIds = Array.isArray(detail.keyIds) ? detail.keyIds.length : 0;
    return `${heading}: subject ${String(detail.subjectId)}${keyIds > 0 ? `, ${keyIds} ${keyIds === 1 ? 'key' : 'keys'} in keyIds` : ''}`;
  }
  return heading;
}

/** The catalog as lines for people: `name  what  expected outcome`, in aligned columns. */
export function catalogLines(entries: CatalogEntry[]): string[] {
  const fileWidth = Math.max(0, ...entries.map((entry) => entry.file.length));
  const whatWidth = Math.max(0, ...entries.map((entry) => entry.what.length));
  return entries.map((entry) => `${entry.file.padEnd(fileWidth)}  ${entry.what.padEnd(whatWidth)}  ${entry.outcome}`);
}
