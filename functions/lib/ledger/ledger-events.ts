import type { NotificationKind } from '../erasure/notification-kinds.ts';

/**
 * What the erasure ledger records: every step of an erasure and every operator decision, as an
 * append-only, hash-chained log per subject. The ledger outlives the subject's data (it is the
 * evidence of the erasure), so it never holds the subject id nor free text from upstream systems:
 * the subject is its fingerprint, a closure is its event id, source and time.
 */
export type LedgerEvent =
  | { type: 'ClosureReceived'; eventId: string; source: string; closedAt: string }
  | { type: 'ClosureDeclined'; eventId: string; because: DeclineReason }
  /** A closure that broke the contract; `reason` names the fields at fault, never their values. */
  | { type: 'ClosureRejected'; eventId: string; reason: string }
  | { type: 'ErasureStarted'; eventId: string; executionName: string }
  | { type: 'KeysResolved'; keys: ResolvedKeyFacts[] }
  | { type: 'KeyDisabled'; keyArn: string; outcome: string }
  /** Imported key material deleted at once (immediate mode): the key is unusable before its deletion. */
  | { type: 'KeyMaterialDeleted'; keyArn: string }
  | { type: 'KeyDeletionScheduled'; keyArn: string; deletionDate: string | null; pendingWindowDays: number; alreadyScheduled: boolean }
  | { type: 'DeletionVerified'; checkedAt: string; keys: { keyArn: string; verifiedDeletedAt: string }[] }
  | { type: 'ErasureCancelled'; by: string; reason: string; keys: { keyArn: string; keyState: string | null }[] }
  | { type: 'ErasureFailed'; error: string; message: string }
  | { type: 'ExecutionEnded'; status: 'ABORTED' | 'TIMED_OUT' | 'FAILED'; error: string | null; cause: string | null; stoppedAt: string }
  | { type: 'CertificateIssued'; certificateId: string; certificate: unknown }
  | { type: 'NotificationPublished'; kind: NotificationKind; topicArn: string; messageId: string; closureEventId: string }
  | { type: 'KeyUseAlerted'; keyArn: string; operation: string; principal: string; cloudTrailEventId: string; usesSinceLastAlert: number; messageId: string }
  | { type: 'KeyDeletedByKms'; keyArn: string; deletedAt: string; eventId: string }
  | { type: 'LegalHoldPlaced'; by: string; reason: string; until: string | null }
  | { type: 'Released'; by: string; reason: string };

export type LedgerEventType = LedgerEvent['type'];

/**
 * Why a closure started no erasure: the subject was erased already (answered quietly), is under a
 * legal hold, or its last erasure was cancelled or stopped by an operator and awaits a release.
 */
export type DeclineReason = 'AlreadyErased' | 'LegalHold' | 'AwaitingRelease';

export interface ResolvedKeyFacts {
  keyArn: string;
  keyId: string;
  origin: string;
  multiRegion: boolean;
  multiRegionKeyType?: 'PRIMARY' | 'REPLICA';
  keyState: string;
}

/** One recorded event: its place in the subject's chain, and what it chains to. */
export interface LedgerEntry {
  subject: string;
  sequence: number;
  /** Makes a write idempotent: a duplicate delivery or a retried Lambda finds its event already there. */
  idempotencyKey: string;
  /** The Step Functions execution ARN the event belongs to; null for events outside an erasure. */
  erasure: string | null;
  recordedAt: string;
  event: LedgerEvent;
  /** SHA-256 of the previous entry (64 zeros for the first), so an edited or deleted entry shows. */
  previousHash: string;
  hash: string;
}

/**
 * The idempotency key of an event: the same fact about the same erasure always gets the same key,
 * so it is written once however often it is reported. Operator decisions carry their own request id.
 */
export function idempotencyKeyOf(event: LedgerEvent, erasure: string | null, requestId?: string): string {
  const scope = erasure ?? 'subject';
  switch (event.type) {
    case 'ClosureReceived':
      return `closure:${event.eventId}`;
    case 'ClosureDeclined':
      return `declined:${event.eventId}`;
    case 'ClosureRejected':
      return `rejected:${event.eventId}`;
    case 'ErasureStarted':
      return `started:${event.executionName}`;
    case 'KeyDisabled':
      return `disabled:${scope}:${event.keyArn}`;
    case 'KeyDeletionScheduled':
      return `scheduled:${scope}:${event.keyArn}`;
    case 'KeyMaterialDeleted':
      return `material-deleted:${scope}:${event.keyArn}`;
    case 'NotificationPublished':
      // Outside an erasure (a held closure), each closure is told of once.
      return `notified:${erasure ?? `closure:${event.closureEventId}`}:${event.kind}:${event.topicArn}`;
    case 'ExecutionEnded':
      return `ended:${scope}`;
    case 'KeyUseAlerted':
      return `key-use:${event.cloudTrailEventId}`;
    case 'KeyDeletedByKms':
      // KMS may deliver its deletion event more than once (docs/aws-facts.md): a key is deleted once.
      return `kms-deleted:${event.keyArn}`;
    case 'LegalHoldPlaced':
    case 'Released':
      if (!requestId) throw new TypeError(`${event.type} needs the operator request's id`);
      return `${event.type}:${requestId}`;
    default:
      return `${event.type}:${scope}`;
  }
}
