import { SUBJECT_ID_PATTERN, fingerprintSubject } from '../functions/lib/erasure/subject.ts';
import { CliError } from './exit-codes.ts';

/**
 * The subject a command is about: by its id (which the ledger never holds, so it is fingerprinted
 * here) or by its fingerprint (what notifications, alerts and logs show on-call).
 */
export function subjectFingerprintOf(subjectId: string | undefined, fingerprint: string | undefined, execution?: string): string {
  const named = [subjectId, fingerprint, execution].filter((value) => value !== undefined).length;
  if (named !== 1) {
    throw new CliError('badInput', 'name the subject by its id, by --fingerprint <32 hex digits> or by --execution <ARN or name>, one of them');
  }
  if (execution !== undefined) {
    // Erasures are named erasure-<fingerprint>[-<attempt>] (functions/lib/erasure/subject.ts).
    const found = /(?:^|:)erasure-([0-9a-f]{32})(?:-\d+)?$/.exec(execution)?.[1];
    if (!found) throw new CliError('badInput', `${execution} is not an erasure's execution (erasure-<fingerprint>)`);
    return found;
  }
  if (fingerprint !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(fingerprint)) throw new CliError('badInput', 'a fingerprint is 32 lower-case hex digits, as notifications show it');
    return fingerprint;
  }
  if (!SUBJECT_ID_PATTERN.test(subjectId!)) throw new CliError('badInput', 'a subject id is 1 to 200 characters of A-Z, a-z, 0-9, _ and -');
  return fingerprintSubject(subjectId!);
}
