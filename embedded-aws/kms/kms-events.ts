import { randomUUID } from 'node:crypto';
import type { AwsEvent, JsonObject, RequestContext } from '../protocol.ts';
import type { KmsKey } from './key-store.ts';

/**
 * The `KMS CMK Deletion` event KMS puts on the default bus once it has really deleted a key. Its
 * detail holds only `key-id`, the ARN is in `resources` (KMS Developer Guide, "Monitor KMS keys with
 * Amazon EventBridge").
 */
export function keyDeletionEvent(key: KmsKey, deletedAt: Date): AwsEvent {
  return {
    source: 'aws.kms',
    detailType: 'KMS CMK Deletion',
    detail: { 'key-id': key.keyId },
    resources: [key.arn],
    region: key.region,
    accountId: key.accountId,
    time: deletedAt,
  };
}

/** KMS operations that CloudTrail marks read-only; Decrypt among them (docs/aws-facts.md). */
const READ_ONLY_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'DescribeKey',
  'ListAliases',
  'ListKeys',
  'ListResourceTags',
  'GetParametersForImport',
  'Sign',
  'Verify',
  'GetPublicKey',
]);

export interface FailedCall {
  operation: string;
  input: JsonObject;
  context: RequestContext;
  errorCode: string;
  errorMessage: string;
  keyArn: string;
  time: Date;
}

/**
 * A CloudTrail record of a failed KMS call, as EventBridge delivers it (`AWS API Call via
 * CloudTrail`), shaped after the Decrypt records in the KMS Developer Guide ("Decrypt" under
 * "Examples of AWS KMS log entries"). Ciphertext and plaintext never appear in CloudTrail.
 */
export function failedCallEvent(call: FailedCall): AwsEvent {
  const { context } = call;
  return {
    source: 'aws.kms',
    detailType: 'AWS API Call via CloudTrail',
    detail: {
      eventVersion: '1.08',
      userIdentity: { type: 'IAMUser', accountId: context.accountId, accessKeyId: context.accessKeyId },
      eventTime: call.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'kms.amazonaws.com',
      eventName: call.operation,
      awsRegion: context.region,
      sourceIPAddress: '127.0.0.1',
      requestParameters: requestParameters(call.operation, call.input),
      responseElements: null,
      errorCode: call.errorCode,
      errorMessage: call.errorMessage,
      requestID: context.requestId,
      eventID: randomUUID(),
      readOnly: READ_ONLY_OPERATIONS.has(call.operation),
      resources: [{ accountId: context.accountId, type: 'AWS::KMS::Key', ARN: call.keyArn }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: context.accountId,
      eventCategory: 'Management',
    },
    resources: [call.keyArn],
    region: context.region,
    accountId: context.accountId,
    time: call.time,
  };
}

/** The request as CloudTrail logs it: camel-cased members, with every blob left out. */
function requestParameters(operation: string, input: JsonObject): JsonObject {
  const logged: JsonObject = {};
  for (const member of ['KeyId', 'EncryptionContext', 'KeySpec', 'NumberOfBytes', 'PendingWindowInDays', 'MessageType', 'SigningAlgorithm']) {
    if (input[member] !== undefined) logged[member.charAt(0).toLowerCase() + member.slice(1)] = input[member];
  }
  // CloudTrail always logs the encryption algorithm of Encrypt and Decrypt, even when defaulted.
  if (operation === 'Encrypt' || operation === 'Decrypt') {
    logged.encryptionAlgorithm = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
  }
  return logged;
}
