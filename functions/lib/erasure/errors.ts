/**
 * The named outcomes an erasure can end in. Each class's `name` is what Lambda reports as the
 * errorType, so the state machine's Retry and Catch can route on it, and what on-call reads first.
 * Messages never carry a raw subject id: only its fingerprint.
 */
export abstract class ErasureError extends Error {
  /** True when the erasure was refused to protect a key, as opposed to failing while doing its work. */
  abstract readonly refusal: boolean;
}

function outcome<Name extends string>(name: Name, refusal: boolean) {
  return class extends ErasureError {
    override readonly name: Name = name;
    readonly refusal = refusal;
  };
}

export class ClosureEventInvalid extends outcome('ClosureEventInvalid', true) {}
export class SubjectHasNoKey extends outcome('SubjectHasNoKey', true) {}
export class KeyNotFound extends outcome('KeyNotFound', true) {}
export class KeyNotOwnedBySubject extends outcome('KeyNotOwnedBySubject', true) {}
export class KeyNotCustomerManaged extends outcome('KeyNotCustomerManaged', true) {}
export class KeyInForeignAccount extends outcome('KeyInForeignAccount', true) {}
export class KeyStateNotErasable extends outcome('KeyStateNotErasable', true) {}
export class SubjectUnderLegalHold extends outcome('SubjectUnderLegalHold', true) {}
export class InvalidSettings extends outcome('InvalidSettings', true) {}
export class DeletionOverdue extends outcome('DeletionOverdue', false) {}
/** A multi-Region primary waits for a replica the erasure did not schedule: the family would never go. */
export class ReplicaOutsideErasure extends outcome('ReplicaOutsideErasure', false) {}
export class ErasureAttemptsExhausted extends outcome('ErasureAttemptsExhausted', false) {}
/** An operator asked to cancel an erasure KMS has already carried out: destroyed keys cannot come back. */
export class ErasureIrreversible extends outcome('ErasureIrreversible', true) {}
export class NothingToCancel extends outcome('NothingToCancel', true) {}
export class NothingToRelease extends outcome('NothingToRelease', true) {}
/** The subject's ledger fails its hash-chain check: an entry was edited, deleted or reordered. */
export class LedgerChainBroken extends outcome('LedgerChainBroken', false) {}
/** Too many writers raced for the subject's ledger at once; the state machine retries it with backoff. */
export class LedgerContention extends outcome('LedgerContention', false) {}

/**
 * An AWS call that failed for a reason worth retrying (throttling, a 5xx). The state machine
 * retries these by name with backoff and full jitter; everything else fails the erasure.
 */
export class TransientAwsError extends Error {
  override readonly name: 'ThrottlingException' | 'AwsServerError';
  constructor(name: 'ThrottlingException' | 'AwsServerError', message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = name;
  }
}
