import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * serverless.yml's AlertStateTable: what the alerting remembers between invocations, briefly
 * (items expire through the table's TTL): each key's current alert window, so a storm of uses
 * pages once per window, the closures already dead-lettered, so a redelivery pages no more, and
 * the erasures waiting for KMS to delete their keys, so KMS's deletion event can wake them.
 */
export interface AlertStateTable {
  /**
   * Counts a use of the key. Opens a new window, and answers `alert` with the uses counted in the
   * window before, when none is open (or the open one has ended); otherwise counts it in the open
   * window and answers `folded`. Concurrent uses race on a conditional write: one opens the window.
   */
  countUse(keyArn: string, now: Date, windowMs: number): Promise<{ outcome: 'alert'; usesSinceLastAlert: number } | { outcome: 'folded' }>;
  /** True the first time it is asked about this id, false ever after (within the TTL). */
  firstTime(id: string, now: Date, keepMs: number): Promise<boolean>;
  /** Remembers that an erasure waits, with this task token, for KMS to delete these keys. */
  awaitKeyDeletion(erasure: string, awaited: AwaitedKeyDeletion, now: Date, keepMs: number): Promise<void>;
  /** The wait `awaitKeyDeletion` remembered for the erasure, if any. */
  awaitedKeyDeletion(erasure: string): Promise<AwaitedKeyDeletion | undefined>;
}

export interface AwaitedKeyDeletion {
  taskToken: string;
  keyArns: string[];
}

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';

export function alertStateTable(dynamodb: DynamoDBClient, tableName: string): AlertStateTable {
  const documents = DynamoDBDocumentClient.from(dynamodb);
  const epochSeconds = (instant: number) => Math.ceil(instant / 1000);

  return {
    async countUse(keyArn, now, windowMs) {
      const id = `key-use#${keyArn}`;
      for (let round = 0; round < 5; round++) {
        try {
          // Inside the open window: one more use, no page.
          await documents.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { id },
              UpdateExpression: 'ADD uses :one',
              ConditionExpression: 'windowEndsAt > :now',
              ExpressionAttributeValues: { ':one': 1, ':now': now.getTime() },
            }),
          );
          return { outcome: 'folded' };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
        try {
          // No open window: open one. Only one of several racing invocations can, and it pages
          // with the count of the window before.
          const previous = await documents.send(
            new PutCommand({
              TableName: tableName,
              Item: { id, windowEndsAt: now.getTime() + windowMs, uses: 1, expiresAt: epochSeconds(now.getTime() + 2 * windowMs + 86_400_000) },
              ConditionExpression: 'attribute_not_exists(id) OR windowEndsAt <= :now',
              ExpressionAttributeValues: { ':now': now.getTime() },
              ReturnValues: 'ALL_OLD',
            }),
          );
          return { outcome: 'alert', usesSinceLastAlert: Number(previous.Attributes?.uses ?? 0) };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // Another invocation opened the window in between: count this use in it.
        }
      }
      // Five lost races in a row means the window is open and busy: this use is part of the storm.
      return { outcome: 'folded' };
    },

    async firstTime(id, now, keepMs) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { id, firstSeenAt: now.toISOString(), expiresAt: epochSeconds(now.getTime() + keepMs) },
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async awaitKeyDeletion(erasure, awaited, now, keepMs) {
      await documents.send(
        new PutCommand({
          TableName: tableName,
          Item: { id: `awaited-key-deletion#${erasure}`, ...awaited, since: now.toISOString(), expiresAt: epochSeconds(now.getTime() + keepMs) },
        }),
      );
    },

    async awaitedKeyDeletion(erasure) {
      const found = await documents.send(new GetCommand({ TableName: tableName, Key: { id: `awaited-key-deletion#${erasure}` }, ConsistentRead: true }));
      const item = found.Item as Partial<AwaitedKeyDeletion> | undefined;
      if (typeof item?.taskToken !== 'string' || !Array.isArray(item.keyArns)) return undefined;
      return { taskToken: item.taskToken, keyArns: item.keyArns };
    },
  };
}
