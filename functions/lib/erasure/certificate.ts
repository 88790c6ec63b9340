import { createHash } from 'node:crypto';
import type { ScheduledKey } from './deletion-scheduling.ts';
import type { Verification } from './deletion-verification.ts';
import type { ErasureRequestFacts } from './notifications.ts';

/**
 * The erasure certificate: the record NIST SP 800-88 Rev. 2 asks of a sanitization (what was
 * sanitized, the method, the tool and its version, how it was verified and the result, the dates,
 * who performed and verified it, and the state afterwards). Its digest is over the canonical JSON
 * of everything else; signing it with a KMS asymmetric key comes with the certificates issue.
 */
export interface ErasureCertificate {
  certificateVersion: 1;
  erasure: string;
  sanitized: {
    subject: string;
    closureEventId: string;
    closureSource: string;
    keys: { keyArn: string; keyId: string; deletionDate: string | null; verifiedDeletedAt: string }[];
  };
  method: { category: 'Purge'; technique: 'Cryptographic Erase'; standard: string; description: string };
  tool: { name: string; version: string };
  verification: { method: string; result: 'Passed'; verifiedAt: string };
  dates: { closedAt: string; completedAt: string };
  performedBy: string;
  verifiedBy: string;
  postSanitizationState: string;
  digest: { algorithm: 'SHA-256'; value: string };
}

export function issueCertificate(
  facts: ErasureRequestFacts,
  keys: ScheduledKey[],
  verification: Verification,
  tool: { name: string; version: string },
): ErasureCertificate {
  const body: Omit<ErasureCertificate, 'digest'> = {
    certificateVersion: 1,
    erasure: facts.execution,
    sanitized: {
      subject: facts.request.subjectFingerprint,
      closureEventId: facts.request.eventId,
      closureSource: facts.request.source,
      keys: keys.map((key) => ({
        keyArn: key.keyArn,
        keyId: key.keyId,
        deletionDate: key.deletionDate,
        verifiedDeletedAt: verification.checkedAt,
      })),
    },
    method: {
      category: 'Purge',
      technique: 'Cryptographic Erase',
      standard: 'NIST SP 800-88 Rev. 2',
      description: 'The AWS KMS customer managed keys under which the subject\'s data was envelope-encrypted were destroyed by AWS KMS.',
    },
    tool,
    verification: {
      method: 'AWS KMS DescribeKey answered NotFoundException for every key after its deletion date',
      result: 'Passed',
      verifiedAt: verification.checkedAt,
    },
    dates: { closedAt: facts.request.closedAt, completedAt: verification.checkedAt },
    performedBy: facts.execution,
    verifiedBy: `${facts.execution} (CheckDeletion)`,
    postSanitizationState: 'Key material destroyed; every copy of data encrypted under these keys is unrecoverable.',
  };
  return { ...body, digest: { algorithm: 'SHA-256', value: digestOf(body) } };
}

export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with object keys sorted at every level, so the same certificate always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
