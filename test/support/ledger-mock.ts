import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { LedgerEntry } from '../../functions/lib/ledger/ledger-events.ts';
import { ledgerTableDouble } from './ledger-double.ts';

/**
 * For handler unit tests: the handlers' DynamoDB document client mocked onto the in-memory ledger
 * table (and the alert-state table's once-only markers), with DynamoDB's conditional-write answer
 * when a sequence number or a marker is taken.
 */
export function mockLedgerTable() {
  const table = ledgerTableDouble();
  // The alert-state table's items (once-only markers, awaited key deletions), answered by the same
  // mocked document client: a conditional put of an id already there is refused, as DynamoDB would.
  const markers = new Map<string, Record<string, unknown>>();
  const documents = mockClient(DynamoDBDocumentClient);
  const answer = () => {
    documents.on(QueryCommand).callsFake(async (input: { ExpressionAttributeValues: Record<string, string> }) => {
      const key = input.ExpressionAttributeValues[':key'];
      if (key !== undefined) return { Items: (await table.subjectsOfKey(key.replace(/^key#/, ''))).map((fingerprint) => ({ fingerprint })) };
      return { Items: await table.entries(input.ExpressionAttributeValues[':subject'] ?? '') };
    });
    documents.on(GetCommand).callsFake(async (input: { Key: { id?: string } }) => ({ Item: structuredClone(markers.get(input.Key.id ?? '')) }));
    documents.on(PutCommand).callsFake(async (input: { Item: Record<string, unknown>; ConditionExpression?: string }) => {
      const item = input.Item;
      if (typeof item.id === 'string') {
        if ('ConditionExpression' in input && markers.has(item.id)) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
        markers.set(item.id, structuredClone(item));
        return {};
      }
      if (String(item.subject).startsWith('key#')) {
        await table.indexKey(String(item.subject).replace(/^key#/, ''), String(item.fingerprint), String(item.indexedAt));
        return {};
      }
      if (!String(item.entry).startsWith('event#')) return {};
      const { entry: _sortKey, ...entry } = item;
      if (await table.append(entry as unknown as LedgerEntry)) return {};
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    });
  };
  answer();
  return {
    table,
    documents,
    /** Forgets every entry and answer, and answers again (for afterEach). */
    reset() {
      table.rows.clear();
      table.keyIndex.clear();
      markers.clear();
      documents.reset();
      answer();
    },
    eventTypes(subject: string): string[] {
      return (table.rows.get(subject) ?? []).map((entry) => entry.event.type);
    },
  };
}
