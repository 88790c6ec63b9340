import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyFailure, isNotFound, isNotPendingDeletion, isPendingDeletion, isPendingImport, isThrottling } from '../../../functions/lib/aws/failures.ts';
import { TransientAwsError } from '../../../functions/lib/erasure/errors.ts';

const THROTTLING = ['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'ThrottledException'];
const SERVER_FAULTS = ['KMSInternalException', 'DependencyTimeoutException', 'InternalFailure', 'InternalServerError', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalError'];
const NETWORK_FAULTS = ['TimeoutError', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'];
const CLIENT_ERRORS = ['NotFoundException', 'KMSInvalidStateException', 'DisabledException', 'AccessDeniedException', 'ValidationException', 'KeyNotOwnedBySubject', 'ExecutionAlreadyExists'];

const sdkError = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });
const keyArn = fc.uuid().map((id) => `arn:aws:kms:eu-west-1:111122223333:key/${id}`);
const clientStatus = fc.integer({ min: 400, max: 499 });

describe('reading an AWS failure, for any failure', () => {
  it('hands throttling to the state machine as ThrottlingException, however AWS names it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...THROTTLING), fc.string(), (name, message) => {
        const failure = classifyFailure(sdkError(name, message));
        expect(failure).toBeInstanceOf(TransientAwsError);
        expect(failure).toMatchObject({ name: 'ThrottlingException', message });
        expect(isThrottling(sdkError(name, message))).toBe(true);
      }),
      { numRuns: 30 },
    );
    expect(classifyFailure(sdkError('SomethingElse', 'slow down', { $retryable: { throttling: true } }))).toMatchObject({ name: 'ThrottlingException' });
    expect(isThrottling(sdkError('SomethingElse', 'slow down', { $retryable: { throttling: true } }))).toBe(true);
    expect(isThrottling(sdkError('SomethingElse', 'slow down', { $retryable: { throttling: false } }))).toBe(false);
  });

  it('hands a server fault, a 5xx or a network failure to the state machine as AwsServerError, naming what happened', () => {
    const serverFailure = fc.oneof(
      fc.constantFrom(...SERVER_FAULTS, ...NETWORK_FAULTS).map((name) => ({ name, extra: {} as Record<string, unknown> })),
      fc.integer({ min: 500, max: 599 }).map((status) => ({ name: 'UnknownError', extra: { $metadata: { httpStatusCode: status } } as Record<string, unknown> })),
      fc.constant({ name: 'UnknownError', extra: { $fault: 'server' } as Record<string, unknown> }),
      fc.constantFrom(...NETWORK_FAULTS).map((code) => ({ name: 'Error', extra: { code } as Record<string, unknown> })),
    );
    fc.assert(
      fc.property(serverFailure, fc.string(), ({ name, extra }, message) => {
        const original = sdkError(name, message, extra);
        const failure = classifyFailure(original);
        expect(failure).toBeInstanceOf(TransientAwsError);
        expect(failure).toMatchObject({ name: 'AwsServerError', message: `${name}: ${message}`, cause: original });
        expect(isThrottling(original)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("leaves a client error as it is, so the Catch routes on AWS's own name", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CLIENT_ERRORS), fc.string(), clientStatus, (name, message, status) => {
        const original = sdkError(name, message, { $fault: 'client', $metadata: { httpStatusCode: status } });
        expect(classifyFailure(original)).toBe(original);
        expect(isThrottling(original)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('leaves a transient failure already named as it is, and reads one that is not an object by its text', () => {
    const transient = new TransientAwsError('AwsServerError', 'KMSInternalException: boom');
    const throttled = new TransientAwsError('ThrottlingException', 'Rate exceeded', { cause: sdkError('ThrottlingException', 'Rate exceeded') });
    expect(classifyFailure(transient)).toBe(transient);
    expect(classifyFailure(throttled)).toBe(throttled);
    expect(classifyFailure('socket hang up')).toBe('socket hang up');
    expect(classifyFailure(Object.assign(new Error(''), { name: '', $fault: 'server' }))).toMatchObject({ name: 'AwsServerError', message: 'error: ' });
    expect(classifyFailure({ $metadata: { httpStatusCode: 503 } })).toMatchObject({ name: 'AwsServerError', message: 'error: [object Object]' });
  });
});

describe("reading KMS's key-state refusals, for any key", () => {
  it('recognises a key pending deletion, or pending replica deletion, in both exceptions KMS uses for it', () => {
    fc.assert(
      fc.property(keyArn, fc.constantFrom('KMSInvalidStateException', 'DisabledException'), fc.constantFrom('deletion', 'replica deletion', 'Deletion'), (arn, name, what) => {
        expect(isPendingDeletion(sdkError(name, `${arn} is pending ${what}.`))).toBe(true);
        expect(isPendingDeletion(sdkError(name, `${arn} is disabled.`))).toBe(false);
        expect(isPendingDeletion(sdkError(name, `${arn} is pending import.`))).toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  it('trusts the words only from the exceptions KMS uses for key states', () => {
    fc.assert(
      fc.property(keyArn, fc.constantFrom('ValidationException', 'AccessDeniedException', 'NotFoundException', 'Error'), (arn, name) => {
        expect(isPendingDeletion(sdkError(name, `${arn} is pending deletion.`))).toBe(false);
        expect(isPendingImport(sdkError(name, `${arn} is pending import.`))).toBe(false);
        expect(isNotPendingDeletion(sdkError(name, `${arn} is not pending deletion.`))).toBe(false);
        expect(isNotFound(sdkError(name, `Key '${arn}' does not exist`))).toBe(name === 'NotFoundException');
      }),
      { numRuns: 30 },
    );
  });

  it('tells "not pending deletion" and "pending import" apart from pending deletion', () => {
    fc.assert(
      fc.property(keyArn, (arn) => {
        const notPending = sdkError('KMSInvalidStateException', `${arn} is not pending deletion.`);
        expect(isNotPendingDeletion(notPending)).toBe(true);
        expect(isPendingDeletion(notPending)).toBe(false);
        expect(isNotPendingDeletion(sdkError('DisabledException', `${arn} is not pending deletion.`))).toBe(false);
        expect(isNotPendingDeletion(sdkError('KMSInvalidStateException', `${arn} is pending deletion.`))).toBe(false);
        expect(isPendingImport(sdkError('KMSInvalidStateException', `${arn} is pending import.`))).toBe(true);
        expect(isPendingImport(sdkError('DisabledException', `${arn} is pending import.`))).toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  it('reads no state from an error without a name or message, or from something not an error', () => {
    for (const nothing of [undefined, null, 'is pending deletion', {}, { name: 'KMSInvalidStateException' }]) {
      expect(isPendingDeletion(nothing)).toBe(false);
      expect(isNotPendingDeletion(nothing)).toBe(false);
      expect(isPendingImport(nothing)).toBe(false);
      expect(isNotFound(nothing)).toBe(false);
      expect(isThrottling(nothing)).toBe(false);
    }
  });
});
