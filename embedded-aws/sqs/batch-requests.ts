/**
 * The batch actions' shared rules (SendMessageBatch, DeleteMessageBatch,
 * ChangeMessageVisibilityBatch): how the entries are checked as a whole, and how each entry's
 * outcome is reported.
 */
import type { JsonObject } from '../protocol.ts';
import { invalidParameterValue, SqsError } from './wire-format.ts';

const MAX_BATCH_ENTRIES = 10;

/**
 * The entries of a batch request, checked as a whole as SQS checks them: 1 to 10 entries, each Id
 * of letters, digits, hyphens and underscores (at most 80) and distinct.
 */
export function batchEntries(input: JsonObject, entryName: string): (JsonObject & { Id: string })[] {
  const entries = input.Entries;
  if (entries === undefined || (Array.isArray(entries) && entries.length === 0)) {
    throw new SqsError('EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', `There should be at least one ${entryName} in the request.`);
  }
  if (!Array.isArray(entries)) throw invalidParameterValue('Entries must be a list.');
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const entry of entries as JsonObject[]) {
    const id = entry?.Id;
    if (typeof id !== 'string' || !/^[\w-]{1,80}$/.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'AWS.SimpleQueueService.InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (seen.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
  }
  return entries as (JsonObject & { Id: string })[];
}

/** Runs one entry of a batch: its output joins Successful, its error Failed, as SQS reports them. */
export function batchResult(entries: (JsonObject & { Id: string })[], run: (entry: JsonObject) => JsonObject): JsonObject {
  const successful: JsonObject[] = [];
  const failed: JsonObject[] = [];
  for (const entry of entries) {
    try {
      successful.push({ Id: entry.Id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      failed.push({ Id: entry.Id, SenderFault: error.statusCode < 500, Code: error.queryCode, Message: error.message });
    }
  }
  return { Successful: successful, Failed: failed };
}
