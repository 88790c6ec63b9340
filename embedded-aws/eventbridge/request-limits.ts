/**
 * EventBridge's documented limits on the operations the embedded EventBridge serves (EventBridge API
 * Reference and User Guide, "Amazon EventBridge quotas"). None of these is adjustable.
 */

/** PutEvents: "The maximum number of entries per request is 10." */
export const MAX_ENTRIES_PER_PUT_EVENTS = 10;

/** PutEvents: the entries of one request total at most 256 KB, counted as `putEventsEntrySize` counts. */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/** PutTargets: "The maximum number of entries per request is 10." */
export const MAX_TARGETS_PER_PUT_TARGETS = 10;

/** "Each rule can have up to five (5) targets associated with it at one time." */
export const MAX_TARGETS_PER_RULE = 5;

/** PutRule: EventPattern has a maximum length of 4,096 characters. */
export const MAX_EVENT_PATTERN_LENGTH = 4096;

/** Rule names and target IDs: 1 to 64 characters of `[\.\-_A-Za-z0-9]`. */
export const MAX_RULE_NAME_LENGTH = 64;
export const MAX_TARGET_ID_LENGTH = 64;

/** RetryPolicy bounds (PutTargets). */
export const MAXIMUM_RETRY_ATTEMPTS = { min: 0, max: 185 } as const;
export const MAXIMUM_EVENT_AGE_SECONDS = { min: 60, max: 86_400 } as const;

/**
 * The entry size as EventBridge counts it toward the 256 KB PutEvents limit (User Guide, "Calculating
 * PutEvents event entry size"): 14 bytes for a Time, plus the UTF-8 bytes of Source, DetailType,
 * Detail and every Resources entry.
 */
export function putEventsEntrySize(entry: unknown): number {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 0;
  const fields = entry as Record<string, unknown>;
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  const resources = Array.isArray(fields.Resources) ? fields.Resources.reduce((total: number, resource) => total + bytes(resource), 0) : 0;
  return (fields.Time !== undefined ? 14 : 0) + bytes(fields.Source) + bytes(fields.DetailType) + bytes(fields.Detail) + resources;
}
