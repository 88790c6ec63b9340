/**
 * The named outcomes an erasure can end in. Each class's `name` is what Lambda reports as the
 * errorType, so the state machine's Retry and Catch can route on it, and what on-call reads first.
 * Messages never carry a raw subject id: only its fingerprint.
 */
abstract class ErasureError extends Error {
  /** True when the erasure was refused to protect a key, as opposed to failing while doing its work. */
  abstract readonly refusal: boolean;
}

export class ClosureEventInvalid extends ErasureError {
  override readonly name = 'ClosureEventInvalid';
  readonly refusal = true;
}

export class SubjectHasNoKey extends ErasureError {
  override readonly name = 'SubjectHasNoKey';
  readonly refusal = true;
}

export class KeyNotFound extends ErasureError {
  override readonly name = 'KeyNotFound';
  readonly refusal = true;
}

export class KeyNotOwnedBySubject extends ErasureError {
  override readonly name = 'KeyNotOwnedBySubject';
  readonly refusal = true;
}

export class KeyNotCustomerManaged extends ErasureError {
  override readonly name = 'KeyNotCustomerManaged';
  readonly refusal = true;
}

export class KeyInForeignAccount extends ErasureError {
  override readonly name = 'KeyInForeignAccount';
  readonly refusal = true;
}

export class KeyStateNotErasable extends ErasureError {
  override readonly name = 'KeyStateNotErasable';
  readonly refusal = true;
}

export class DeletionOverdue extends ErasureError {
  override readonly name = 'DeletionOverdue';
  readonly refusal = false;
}

export class ErasureAttemptsExhausted extends ErasureError {
  override readonly name = 'ErasureAttemptsExhausted';
  readonly refusal = false;
}

export class InvalidSettings extends ErasureError {
  override readonly name = 'InvalidSettings';
  readonly refusal = true;
}

/**
 * An AWS call that failed for a reason worth retrying (throttling, a 5xx). The state machine
 * retries these with backoff and full jitter; everything else fails the erasure.
 */
export class TransientAwsError extends Error {
  override readonly name: string;
  constructor(name: 'ThrottlingException' | 'AwsServerError', message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = name;
  }
}
