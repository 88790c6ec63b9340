import { TransientAwsError } from '../erasure/errors.ts';

/**
 * How the handlers read AWS SDK errors. KMS reports most key-state problems as one exception
 * (KMSInvalidStateException) told apart only by its message, and reports use of a key pending
 * deletion as either DisabledException or KMSInvalidStateException (docs/aws-facts.md), so matching is by
 * name and message together.
 */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

function asSdkError(error: unknown): SdkError {
  return typeof error === 'object' && error !== null ? (error as SdkError) : {};
}

export function isNotFound(error: unknown): boolean {
  return asSdkError(error).name === 'NotFoundException';
}

export function isPendingDeletion(error: unknown): boolean {
  const { name, message = '' } = asSdkError(error);
  return (name === 'KMSInvalidStateException' || name === 'DisabledException') && /is pending (replica )?deletion/i.test(message);
}

export function isNotPendingDeletion(error: unknown): boolean {
  const { name, message = '' } = asSdkError(error);
  return name === 'KMSInvalidStateException' && /is not pending deletion/i.test(message);
}

export function isPendingImport(error: unknown): boolean {
  const { name, message = '' } = asSdkError(error);
  return name === 'KMSInvalidStateException' && /is pending import/i.test(message);
}

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'ThrottledException']);
const SERVER_FAULTS = new Set(['KMSInternalException', 'DependencyTimeoutException', 'InternalFailure', 'InternalServerError', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalError']);
const NETWORK_FAULTS = new Set(['TimeoutError', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

export function isThrottling(error: unknown): boolean {
  const sdk = asSdkError(error);
  return THROTTLING.has(sdk.name ?? '') || sdk.$retryable?.throttling === true;
}

/**
 * Renames an error worth retrying to the two names the state machine retries on
 * (`ThrottlingException`, `AwsServerError`); returns any other error unchanged, so named erasure
 * outcomes and AWS's own client errors reach the Catch with their own names.
 */
export function classifyFailure(error: unknown): unknown {
  const sdk = asSdkError(error);
  const name = sdk.name ?? '';
  const message = sdk.message ?? String(error);
  if (error instanceof TransientAwsError) return error;
  if (THROTTLING.has(name) || sdk.$retryable?.throttling === true) {
    return new TransientAwsError('ThrottlingException', message, { cause: error });
  }
  const status = sdk.$metadata?.httpStatusCode ?? 0;
  if (SERVER_FAULTS.has(name) || sdk.$fault === 'server' || status >= 500 || NETWORK_FAULTS.has(name) || NETWORK_FAULTS.has(sdk.code ?? '')) {
    return new TransientAwsError('AwsServerError', `${name || 'error'}: ${message}`, { cause: error });
  }
  return error;
}
