import { SUBJECT_ID_PATTERN, fingerprintSubject } from '../functions/lib/erasure/subject.ts';
import { CliError } from './exit-codes.ts';

/**
 * The subject a command is about: by its id (which the ledger never holds, so it is fingerprinted
 * here) or by its fingerprint (what notifications, alerts and logs show on-call).
 */
export function subjectFingerprintOf(subjectId: string | undefined, fingerprint: string | undefined): string {
  if ((subjectId === undefined) === (fingerprint === undefined)) {
    throw new CliError('badInput', 'name the subject by its id or by --fingerprint <32 hex digits>, one of the two');
  }
  if (fingerprint !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(fingerprint)) throw new CliError('badInput', 'a fingerprint is 32 lower-case hex digits, as notifications show it');
    return fingerprint;
  }
  if (!SUBJECT_ID_PATTERN.test(subjectId!)) throw new CliError('badInput', 'a subject id is 1 to 200 characters of A-Z, a-z, 0-9, _ and -');
  return fingerprintSubject(subjectId!);
}
