import type { ErasureRequest } from '../../functions/lib/erasure/closure-event.ts';
import { recordExecutionStart } from '../../functions/lib/erasure/erasure-start.ts';
import type { Ledger } from '../../functions/lib/ledger/ledger.ts';
import { arnOf, type KeyRecord } from './kms-double.ts';

/** A subject's ledger as the pipeline writes it while an erasure runs: its closure, its start, its keys resolved. */
export async function recordErasureUnderWay(ledger: Ledger, request: ErasureRequest, execution: string, keys: KeyRecord[], now: Date): Promise<void> {
  await recordExecutionStart(ledger, request, execution, now);
  const resolved = keys.map((key) => ({ keyArn: arnOf(key), keyId: key.keyId, origin: 'AWS_KMS', multiRegion: false, keyState: 'Enabled' }));
  await ledger.record(request.subjectFingerprint, execution, { type: 'KeysResolved', keys: resolved });
}
