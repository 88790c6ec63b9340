import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerEntry } from '../ledger/ledger-events.ts';
import type { ErasureRecord } from '../ledger/subject-record.ts';

/**
 * The ledger table (serverless.yml's LedgerTable): partition key `subject` (the fingerprint),
 * sort key `entry`. A subject's events are `event#<sequence>`, zero-padded so they sort in order;
 * each erasure has a summary item `erasure#<execution name>`, a projection of its events that
 * can be rebuilt from them at any time.
 */
export interface LedgerTable {
  /** Every event of the subject, in sequence order (strongly consistent). */
  entries(subject: string): Promise<LedgerEntry[]>;
  /** Writes the entry unless its sequence number is taken; false when another writer got there first. */
  append(entry: LedgerEntry): Promise<boolean>;
  /** Writes the erasure's summary unless a newer one (from a later entry) is there already. */
  putErasureSummary(subject: string, erasure: ErasureRecord, asOfSequence: number): Promise<void>;
  /** Notes that a key belongs to a subject's erasure: its tags are gone once KMS deletes it. */
  indexKey(keyArn: string, subject: string, indexedAt: string): Promise<void>;
  /** The subjects whose erasures named the key (one, unless a key was named by two subjects). */
  subjectsOfKey(keyArn: string): Promise<string[]>;
}

const EVENT_PREFIX = 'event#';
// A key's index lives in a partition of its own, `key#<key ARN>`, one item per subject.
const KEY_PARTITION = 'key#';
const SUBJECT_PREFIX = 'subject#';

export function entryKey(sequence: number): string {
  return `${EVENT_PREFIX}${String(sequence).padStart(12, '0')}`;
}

export function ledgerTable(dynamodb: DynamoDBClient, tableName: string): LedgerTable {
  const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  return {
    async entries(subject) {
      const entries: LedgerEntry[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: '#subject = :subject AND begins_with(#entry, :events)',
            ExpressionAttributeNames: { '#subject': 'subject', '#entry': 'entry' },
            ExpressionAttributeValues: { ':subject': subject, ':events': EVENT_PREFIX },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) entries.push(toEntry(item));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return entries;
    },

    async append(entry) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...entry, entry: entryKey(entry.sequence) },
            // Sequence numbers are claimed once: two writers racing for the same place cannot
            // both win, so the chain never forks.
            ConditionExpression: 'attribute_not_exists(#entry)',
            ExpressionAttributeNames: { '#entry': 'entry' },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async putErasureSummary(subject, erasure, asOfSequence) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { subject, entry: `erasure#${erasure.executionName}`, ...erasure, asOfSequence },
            ConditionExpression: 'attribute_not_exists(#entry) OR asOfSequence < :sequence',
            ExpressionAttributeNames: { '#entry': 'entry' },
            ExpressionAttributeValues: { ':sequence': asOfSequence },
          }),
        );
      } catch (error) {
        // A summary from a later entry is already there: it is the fresher projection.
        if (!(error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException')) throw error;
      }
    },

    async indexKey(keyArn, subject, indexedAt) {
      await documents.send(
        new PutCommand({ TableName: tableName, Item: { subject: keyIndexPartition(keyArn), entry: `${SUBJECT_PREFIX}${subject}`, fingerprint: subject, indexedAt } }),
      );
    },

    async subjectsOfKey(keyArn) {
      const page = await documents.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#subject = :key',
          ExpressionAttributeNames: { '#subject': 'subject' },
          ExpressionAttributeValues: { ':key': keyIndexPartition(keyArn) },
          ConsistentRead: true,
        }),
      );
      return (page.Items ?? []).map((item) => String(item.fingerprint));
    },
  };
}

export function keyIndexPartition(keyArn: string): string {
  return `${KEY_PARTITION}${keyArn}`;
}

function toEntry(item: Record<string, unknown>): LedgerEntry {
  const { subject, sequence, idempotencyKey, erasure, recordedAt, event, previousHash, hash } = item as unknown as LedgerEntry;
  return { subject, sequence, idempotencyKey, erasure: erasure ?? null, recordedAt, event, previousHash, hash };
}
