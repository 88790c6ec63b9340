import { createHash } from 'node:crypto';

/**
 * A subject is whoever's data is erased: a user, a tenant, a system. Its id is personal data, so
 * logs, execution names and notifications carry a fingerprint instead. The fingerprint is a
 * versioned SHA-256 of the id: stable, so upstream systems can compute it to correlate, and not
 * reversible except by guessing ids (pseudonymous, not anonymous).
 */
export type SubjectFingerprint = string;

// Subject ids become part of a KMS alias (`<aliasPrefix>/<subjectId>`), so they must fit KMS's
// alias alphabet; a slash is refused too, so one subject's alias can never name another's path.
export const SUBJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

export function fingerprintSubject(subjectId: string): SubjectFingerprint {
  return createHash('sha256').update(`crypto-erasure:subject:v1:${subjectId}`).digest('hex').slice(0, 32);
}

export function subjectAlias(aliasPrefix: string, subjectId: string): string {
  return `${aliasPrefix}/${subjectId}`;
}

/**
 * Step Functions execution names: 1 to 80 characters of `0-9A-Za-z-_`, reserved for 90 days
 * (docs/aws-facts.md). The first attempt for a subject is `erasure-<fingerprint>`; a new attempt after a
 * failed one adds `-<attempt>`, so a redelivered closure event finds the same execution.
 */
export function executionName(fingerprint: SubjectFingerprint, attempt: number): string {
  return attempt === 1 ? `erasure-${fingerprint}` : `erasure-${fingerprint}-${attempt}`;
}

/**
 * How a runbook names the stage to the `erasure` command: `--stage <name>` for a deployed stage;
 * nothing for the embedded AWS's `local` stage, which the command reaches by default.
 */
export function stageOption(stage: string): string {
  return stage === 'local' ? '' : ` --stage ${stage}`;
}
