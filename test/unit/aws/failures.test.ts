import { KMSInternalException, NotFoundException } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { classifyFailure, isPendingDeletion, isPendingImport } from '../../../functions/lib/aws/failures.ts';
import { KeyNotOwnedBySubject } from '../../../functions/lib/erasure/errors.ts';
import { disabled, invalidState, throttled } from '../../support/kms-double.ts';

describe('classifyFailure', () => {
  it('names throttling ThrottlingException, which the state machine retries', () => {
    expect(classifyFailure(throttled())).toMatchObject({ name: 'ThrottlingException' });
    expect(classifyFailure(Object.assign(new Error('slow down'), { name: 'Whatever', $retryable: { throttling: true } }))).toMatchObject({ name: 'ThrottlingException' });
  });

  it('names 5xx faults AwsServerError, which the state machine retries', () => {
    expect(classifyFailure(new KMSInternalException({ message: 'boom', $metadata: { httpStatusCode: 500 } }))).toMatchObject({ name: 'AwsServerError' });
    expect(classifyFailure(Object.assign(new Error('down'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }))).toMatchObject({ name: 'AwsServerError' });
  });

  it('names any failure answered with HTTP 500 AwsServerError, whatever AWS called it', () => {
    const unnamed = Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'UnknownError', $metadata: { httpStatusCode: 500 } });
    expect(classifyFailure(unnamed)).toMatchObject({ name: 'AwsServerError', message: 'UnknownError: We encountered an internal error. Please try again.' });
  });

  it('leaves client errors and named outcomes as they are', () => {
    const notFound = new NotFoundException({ message: 'no', $metadata: { httpStatusCode: 400 } });
    const refusal = new KeyNotOwnedBySubject('no');
    expect(classifyFailure(notFound)).toBe(notFound);
    expect(classifyFailure(refusal)).toBe(refusal);
  });
});

describe('KMS state errors', () => {
  it('recognises pending deletion in both of the exceptions KMS uses for it', () => {
    expect(isPendingDeletion(invalidState('arn:k is pending deletion.'))).toBe(true);
    expect(isPendingDeletion(disabled('arn:k is pending deletion.'))).toBe(true);
    expect(isPendingDeletion(disabled('arn:k is disabled.'))).toBe(false);
  });

  it('tells pending import apart from pending deletion', () => {
    expect(isPendingImport(invalidState('arn:k is pending import.'))).toBe(true);
    expect(isPendingDeletion(invalidState('arn:k is pending import.'))).toBe(false);
  });
});
