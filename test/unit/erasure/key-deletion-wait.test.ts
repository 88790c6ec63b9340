import { KMSClient } from '@aws-sdk/client-kms';
import { InvalidToken, SFNClient, SendTaskSuccessCommand, TaskDoesNotExist, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertStateTable, AwaitedKeyDeletion } from '../../../functions/lib/aws/alert-state-table.ts';
import { executionArnOf, taskCallbacks } from '../../../functions/lib/aws/erasure-executions.ts';
import { kmsKeys } from '../../../functions/lib/aws/kms-keys.ts';
import { awaitKeyDeletion, wakeIfDeleted } from '../../../functions/lib/erasure/key-deletion-wait.ts';
import { KmsDouble, arnOf, throttled } from '../../support/kms-double.ts';
import { REGION, STATE_MACHINE_ARN } from '../../support/settings.ts';

const START = new Date('2026-11-28T10:00:00Z');
const DAY = 86_400_000;
const erasure = executionArnOf(STATE_MACHINE_ARN, 'erasure-0123456789abcdef0123456789abcdef');

/** The alert-state table's awaited deletions in memory; an item is gone once its time to live is up, as DynamoDB's TTL removes it. */
function awaitedDeletions(clock: () => Date): Pick<AlertStateTable, 'awaitKeyDeletion' | 'awaitedKeyDeletion'> {
  const items = new Map<string, { awaited: AwaitedKeyDeletion; expiresAt: number }>();
  return {
    async awaitKeyDeletion(erasure, awaited, now, keepMs) {
      items.set(erasure, { awaited, expiresAt: now.getTime() + keepMs });
    },
    async awaitedKeyDeletion(erasure) {
      const item = items.get(erasure);
      return item && item.expiresAt > clock().getTime() ? item.awaited : undefined;
    },
  };
}

describe('the wait for KMS to delete an erasure’s keys', () => {
  let kms: KmsDouble;
  let sfn: AwsClientStub<SFNClient>;
  let clock: Date;
  let alertState: ReturnType<typeof awaitedDeletions>;
  const services = () => ({
    alertState,
    kms: kmsKeys(new KMSClient({ region: REGION })),
    callbacks: taskCallbacks(new SFNClient({ region: REGION })),
    now: () => clock,
  });
  beforeEach(() => {
    kms = new KmsDouble();
    sfn = mockClient(SFNClient);
    sfn.on(SendTaskSuccessCommand).resolves({});
    clock = START;
    alertState = awaitedDeletions(() => clock);
  });
  afterEach(() => {
    kms.restore();
    sfn.restore();
  });

  const pendingKey = () => kms.addKey({ subjectId: 'user-1', keyState: 'PendingDeletion', deletionDate: new Date(START.getTime() + 30 * DAY) });
  const wakeUps = () => sfn.commandCalls(SendTaskSuccessCommand).map((call) => ({ taskToken: call.args[0].input.taskToken, output: JSON.parse(call.args[0].input.output ?? 'null') }));

  it('wakes the erasure at once when KMS has deleted its keys before it began to wait', async () => {
    const keys = [pendingKey(), pendingKey()];
    keys.forEach((key) => kms.deleteKey(key));
    await expect(awaitKeyDeletion(erasure, 'token-1', keys.map(arnOf), services())).resolves.toBe('woken');
    expect(wakeUps()).toEqual([{ taskToken: 'token-1', output: { wokenBy: 'KeysDeleted' } }]);
  });

  it('lets the erasure wait while any of its keys remains', async () => {
    const [gone, remaining] = [pendingKey(), pendingKey()];
    kms.deleteKey(gone);
    await expect(awaitKeyDeletion(erasure, 'token-1', [arnOf(gone), arnOf(remaining)], services())).resolves.toBe('keys-remain');
    expect(wakeUps()).toEqual([]);
  });

  it('wakes the erasure when KMS deletes its last key at the end of the longest waiting period, a day late', async () => {
    const key = pendingKey();
    await expect(awaitKeyDeletion(erasure, 'token-1', [arnOf(key)], services())).resolves.toBe('keys-remain');
    clock = new Date(START.getTime() + 31 * DAY);
    kms.deleteKey(key);
    await expect(wakeIfDeleted(erasure, services())).resolves.toBe('woken');
    expect(wakeUps()).toEqual([{ taskToken: 'token-1', output: { wokenBy: 'KeysDeleted' } }]);
  });

  it('answers not-waiting for an erasure that does not wait', async () => {
    await expect(wakeIfDeleted(erasure, services())).resolves.toBe('not-waiting');
    expect(wakeUps()).toEqual([]);
  });

  it.each([
    ['timed out into its check', new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['was woken already', new TaskDoesNotExist({ message: 'Task does not exist anymore', $metadata: {} })],
    ['was stopped', new InvalidToken({ message: 'Invalid token', $metadata: {} })],
  ])('answers not-waiting when the erasure %s', async (_, answer) => {
    const key = pendingKey();
    kms.deleteKey(key);
    sfn.on(SendTaskSuccessCommand).rejects(answer);
    await expect(awaitKeyDeletion(erasure, 'token-1', [arnOf(key)], services())).resolves.toBe('not-waiting');
  });

  it("lets any other failure to wake the erasure through, so KMS's event is retried", async () => {
    const key = pendingKey();
    kms.deleteKey(key);
    sfn.on(SendTaskSuccessCommand).rejects(throttled());
    await expect(awaitKeyDeletion(erasure, 'token-1', [arnOf(key)], services())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
