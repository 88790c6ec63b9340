import type { AlertStateTable } from '../aws/alert-state-table.ts';
import { isTaskGone, type TaskCallbacks } from '../aws/erasure-executions.ts';
import type { KmsKeys } from '../aws/kms-keys.ts';

/**
 * Once its keys are scheduled, an erasure waits for KMS to delete them: until the latest deletion
 * date (and an hour's slack) at most, but woken as soon as KMS's own `KMS CMK Deletion` event says
 * the last of them is gone. KMS may delete a key up to a day after its date; polling through that
 * day would cost a state transition per look, the event costs none. The event is best effort, so
 * the timeout stays the fallback, and the check after either is what proves the deletion.
 */
const KEEP_MS = 400 * 86_400_000;

export type WakeOutcome = 'woken' | 'keys-remain' | 'not-waiting';

interface Services {
  alertState: Pick<AlertStateTable, 'awaitKeyDeletion' | 'awaitedKeyDeletion'>;
  kms: Pick<KmsKeys, 'describeKey'>;
  callbacks: Pick<TaskCallbacks, 'succeed'>;
  now: () => Date;
}

/** Remembers the erasure's task token; if its keys are gone already (a late start), wakes it at once. */
export async function awaitKeyDeletion(erasure: string, taskToken: string, keyArns: string[], services: Services): Promise<WakeOutcome> {
  await services.alertState.awaitKeyDeletion(erasure, { taskToken, keyArns }, services.now(), KEEP_MS);
  return wakeIfDeleted(erasure, services);
}

/** Wakes the erasure if it waits and KMS has deleted every one of its keys. */
export async function wakeIfDeleted(erasure: string, services: Services): Promise<WakeOutcome> {
  const awaited = await services.alertState.awaitedKeyDeletion(erasure);
  if (!awaited) return 'not-waiting';
  for (const keyArn of awaited.keyArns) {
    if (await services.kms.describeKey(keyArn)) return 'keys-remain';
  }
  try {
    await services.callbacks.succeed(awaited.taskToken, { wokenBy: 'KeysDeleted' });
  } catch (error) {
    // Woken already (the event came twice), timed out into its check, or stopped: nothing waits.
    if (isTaskGone(error)) return 'not-waiting';
    throw error;
  }
  return 'woken';
}
