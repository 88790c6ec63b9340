import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import type { KeyPolicy, NotificationConfig } from '../../functions/lib/erasure/settings.ts';

export const ACCOUNT_ID = '111122223333';
export const REGION = 'eu-west-1';
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:crypto-erasure-test`;
export const ERASURE_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:crypto-erasure-notifications-test`;
export const ONCALL_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:crypto-erasure-oncall-test`;

export const keyPolicy: KeyPolicy = {
  pendingWindowDays: 7,
  subjectTagKey: 'erasure:subject',
  aliasPrefix: 'alias/erasure/subject',
  allowedAccountIds: [],
  immediateErasureReasons: [],
};

export const notificationConfig: NotificationConfig = {
  erasureTopicArn: ERASURE_TOPIC_ARN,
  oncallTopicArn: ONCALL_TOPIC_ARN,
  toolVersion: '0.0.0-test',
};

/** The environment serverless.yml gives the functions, for handler tests. */
export const functionEnvironment: Record<string, string> = {
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'AKIATESTTEST',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  PENDING_WINDOW_DAYS: String(keyPolicy.pendingWindowDays),
  SUBJECT_TAG_KEY: keyPolicy.subjectTagKey,
  ALIAS_PREFIX: keyPolicy.aliasPrefix,
  ALLOWED_ACCOUNT_IDS: '',
  ERASURE_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
  ALLOWED_EVENT_SOURCES: 'com.example.accounts',
  ERASURE_TOPIC_ARN,
  ONCALL_TOPIC_ARN,
  TOOL_VERSION: '0.0.0-test',
  LEDGER_TABLE_NAME: 'crypto-erasure-ledger-test',
  ALERT_STATE_TABLE_NAME: 'crypto-erasure-alert-state-test',
  ALERT_WINDOW_MINUTES: '15',
  ESCALATION_CONTACT: 'the security on-call',
  STAGE: 'test',
  CLOSURE_DEAD_LETTER_QUEUE_URL: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/crypto-erasure-closures-dlq-test`,
  CERTIFICATE_SIGNING_KEY_ARN: `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000`,
  ERASER_ROLE_ARN: `arn:aws:iam::${ACCOUNT_ID}:role/crypto-erasure-test-KeyEraserRole`,
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

export function useFunctionEnvironment(): void {
  Object.assign(process.env, functionEnvironment);
}

export function erasureRequestFor(subjectId: string, keyIds: string[] = []) {
  return {
    subjectId,
    subjectFingerprint: fingerprintSubject(subjectId),
    eventId: `event-${subjectId}`,
    source: 'com.example.accounts',
    closedAt: '2026-11-20T09:29:41Z',
    reason: null,
    keyIds,
  };
}

export const EXECUTION_ARN = `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:crypto-erasure-test:erasure-1`;
