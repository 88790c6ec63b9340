import { createHash } from 'node:crypto';
import type { LedgerEntry, LedgerEvent } from '../ledger/ledger-events.ts';
import { canonicalJson } from './canonical-json.ts';

/**
 * The erasure certificate: the record NIST SP 800-88 Rev. 2 asks of a sanitization (what was
 * sanitized, the method, the tool and its version, how it was verified and the result, the dates,
 * who performed and verified it, the state afterwards), built from the ledger's entries of the
 * erasure, so every date in it is one the ledger recorded. A KMS asymmetric key signs its
 * canonical form (RFC 8785): anyone with the public key can check it offline, years later.
 */
export const CERTIFICATE_VERSION = 2;
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
export const CANONICALIZATION = 'RFC 8785 (JSON Canonicalization Scheme)';

export interface CertifiedKey {
  keyArn: string;
  keyId: string;
  region: string;
  accountId: string;
  origin: string;
  multiRegion: boolean;
  /** PRIMARY or REPLICA for a member of a multi-Region family (each member listed, each in its Region). */
  multiRegionKeyType: 'PRIMARY' | 'REPLICA' | null;
  disabledAt: string | null;
  /** When the imported key material was deleted (immediate mode), before the key itself. */
  keyMaterialDeletedAt: string | null;
  disableOutcome: string | null;
  scheduledAt: string | null;
  deletionDate: string | null;
  verifiedDeletedAt: string;
}

export interface ErasureCertificate {
  certificateVersion: typeof CERTIFICATE_VERSION;
  certificateId: string;
  issuedAt: string;
  erasure: string;
  subject: string;
  closure: { eventId: string; source: string; closedAt: string; receivedAt: string };
  sanitized: { media: string; keys: CertifiedKey[] };
  method: { category: 'Purge'; technique: 'Cryptographic Erase'; standard: string; description: string };
  tool: { name: string; version: string };
  verification: { method: string; result: 'Passed'; verifiedAt: string };
  dates: { requestedAt: string; disabledAt: string | null; scheduledAt: string | null; deletionDate: string | null; verifiedDeletedAt: string; completedAt: string };
  performedBy: string;
  verifiedBy: string;
  postSanitizationState: string;
  /** The ledger entry this certificate rests on: the subject's chain up to it proves every date above. */
  ledger: { subject: string; chainHead: { sequence: number; hash: string } };
}

export interface CertificateSignature {
  algorithm: typeof SIGNING_ALGORITHM;
  canonicalization: typeof CANONICALIZATION;
  keyArn: string;
  /** Base64 of the DER-encoded ECDSA signature KMS returned. */
  value: string;
}

export interface SignedCertificate {
  certificate: ErasureCertificate;
  signature: CertificateSignature;
}

/** Signs a SHA-256 digest with the certificate signing key (KMS Sign, MessageType DIGEST). */
export interface CertificateSigner {
  sign(digest: Buffer): Promise<{ keyArn: string; signature: Buffer }>;
}

export interface CertificateContext {
  erasure: string;
  tool: { name: string; version: string };
  performedBy: string;
  issuedAt: Date;
}

/**
 * Builds the certificate of a completed erasure from the subject's ledger entries. Refuses when
 * the ledger does not show every key verified deleted: a certificate never claims more than the
 * ledger proves.
 */
export function composeCertificate(entries: LedgerEntry[], context: CertificateContext): ErasureCertificate {
  const of = <T extends LedgerEvent['type']>(type: T) =>
    entries.filter((entry): entry is LedgerEntry & { event: Extract<LedgerEvent, { type: T }> } => entry.erasure === context.erasure && entry.event.type === type);

  const started = of('ErasureStarted')[0];
  const resolved = of('KeysResolved')[0];
  const verified = of('DeletionVerified')[0];
  if (!started || !resolved || !verified) {
    throw new RangeError(`the ledger holds no verified deletion of erasure ${context.erasure}: no certificate can be issued`);
  }
  const received = entries.find((entry) => entry.event.type === 'ClosureReceived' && entry.event.eventId === started.event.eventId);
  if (!received || received.event.type !== 'ClosureReceived') throw new RangeError(`the ledger holds no closure ${started.event.eventId}`);

  const disabled = of('KeyDisabled');
  const materialDeleted = of('KeyMaterialDeleted');
  const scheduled = of('KeyDeletionScheduled');
  const keys: CertifiedKey[] = resolved.event.keys.map((key) => {
    const verifiedKey = verified.event.keys.find((candidate) => candidate.keyArn === key.keyArn);
    if (!verifiedKey) throw new RangeError(`key ${key.keyArn} of erasure ${context.erasure} is not verified deleted`);
    const disabledEntry = disabled.find((entry) => entry.event.keyArn === key.keyArn);
    const scheduledEntry = scheduled.find((entry) => entry.event.keyArn === key.keyArn);
    const [, , , region = '', accountId = ''] = key.keyArn.split(':');
    return {
      keyArn: key.keyArn,
      keyId: key.keyId,
      region,
      accountId,
      origin: key.origin,
      multiRegion: key.multiRegion,
      multiRegionKeyType: key.multiRegionKeyType ?? null,
      disabledAt: disabledEntry?.recordedAt ?? null,
      keyMaterialDeletedAt: materialDeleted.find((entry) => entry.event.keyArn === key.keyArn)?.recordedAt ?? null,
      disableOutcome: disabledEntry?.event.outcome ?? null,
      scheduledAt: scheduledEntry?.recordedAt ?? null,
      deletionDate: scheduledEntry?.event.deletionDate ?? null,
      verifiedDeletedAt: verifiedKey.verifiedDeletedAt,
    };
  });

  const latest = (values: (string | null)[]) => values.filter((value): value is string => value !== null).sort().at(-1) ?? null;
  const head = entries.at(-1)!;
  const body: Omit<ErasureCertificate, 'certificateId'> = {
    certificateVersion: CERTIFICATE_VERSION,
    issuedAt: context.issuedAt.toISOString(),
    erasure: context.erasure,
    subject: received.subject,
    closure: { eventId: received.event.eventId, source: received.event.source, closedAt: received.event.closedAt, receivedAt: received.recordedAt },
    sanitized: { media: 'AWS KMS customer managed keys', keys },
    method: {
      category: 'Purge',
      technique: 'Cryptographic Erase',
      standard: 'NIST SP 800-88 Rev. 2',
      description: "The AWS KMS keys under which the subject's data was envelope-encrypted were disabled, scheduled for deletion and destroyed by AWS KMS.",
    },
    tool: context.tool,
    verification: {
      method: 'AWS KMS DescribeKey answered NotFoundException for every key after its deletion date',
      result: 'Passed',
      verifiedAt: verified.event.checkedAt,
    },
    dates: {
      requestedAt: received.recordedAt,
      disabledAt: latest(keys.map((key) => key.disabledAt)),
      scheduledAt: latest(keys.map((key) => key.scheduledAt)),
      deletionDate: latest(keys.map((key) => key.deletionDate)),
      verifiedDeletedAt: verified.event.checkedAt,
      completedAt: verified.event.checkedAt,
    },
    performedBy: context.performedBy,
    verifiedBy: `${context.performedBy} (CheckDeletion of ${context.erasure})`,
    postSanitizationState: keys.some((key) => key.origin === 'EXTERNAL')
      ? 'Key material destroyed in AWS KMS. Keys with imported material (origin EXTERNAL): the crypto-erase is complete only if no other copy of that material exists (the key material as generated and kept outside AWS, e.g. in the subject owner\'s HSM); every copy of data encrypted under the other keys is unrecoverable.'
      : 'Key material destroyed; every copy of data encrypted under these keys is unrecoverable.',
    ledger: { subject: head.subject, chainHead: { sequence: head.sequence, hash: head.hash } },
  };
  return { ...body, certificateId: `cert-${createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 32)}` };
}

/** The bytes that are signed: the canonical JSON of the certificate. */
export function signedBytes(certificate: ErasureCertificate): Buffer {
  return Buffer.from(canonicalJson(certificate), 'utf8');
}

export async function signCertificate(signer: CertificateSigner, certificate: ErasureCertificate): Promise<SignedCertificate> {
  // KMS signs at most 4,096 bytes of RAW message and a certificate of many keys is longer: sign its
  // SHA-256 digest, which is what ECDSA_SHA_256 signs of a RAW message anyway.
  const digest = createHash('sha256').update(signedBytes(certificate)).digest();
  const { keyArn, signature } = await signer.sign(digest);
  return {
    certificate,
    signature: { algorithm: SIGNING_ALGORITHM, canonicalization: CANONICALIZATION, keyArn, value: signature.toString('base64') },
  };
}
