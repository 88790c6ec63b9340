import * as z from '../runtime/zod.ts';
import { InvalidSettings } from './errors.ts';

/**
 * Deployment settings, read from the environment that serverless.yml gives each function. A bad
 * value is refused when the function starts (and earlier, at package time, by serverless.yml's own
 * check), never discovered halfway through an erasure.
 */

// KMS accepts a waiting period of 7 to 30 days (AWS-FACTS: ScheduleKeyDeletion).
export const MIN_PENDING_WINDOW_DAYS = 7;
export const MAX_PENDING_WINDOW_DAYS = 30;

const commaList = z.pipe(
  z._default(z.string(), ''),
  z.transform((value: string) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  ),
);

const KeyPolicySettings = z.object({
  PENDING_WINDOW_DAYS: z._default(
    z.coerce.number().check(z.int(), z.minimum(MIN_PENDING_WINDOW_DAYS), z.maximum(MAX_PENDING_WINDOW_DAYS)),
    MAX_PENDING_WINDOW_DAYS,
  ),
  SUBJECT_TAG_KEY: z.string().check(z.minLength(1), z.maxLength(128)),
  ALIAS_PREFIX: z.string().check(
    z.regex(/^alias\/[A-Za-z0-9/_-]+[A-Za-z0-9_-]$/, 'must look like alias/<name>, without a trailing slash'),
    z.refine((prefix: string) => !prefix.startsWith('alias/aws/'), 'alias/aws/ is reserved for AWS managed keys'),
  ),
  ALLOWED_ACCOUNT_IDS: z.pipe(commaList, z.array(z.string().check(z.regex(/^\d{12}$/, 'account ids are 12 digits')))),
  IMMEDIATE_ERASURE_REASONS: commaList,
});

const IntakeSettings = z.object({
  ERASURE_STATE_MACHINE_ARN: z.string().check(z.startsWith('arn:')),
  CLOSURE_DEAD_LETTER_QUEUE_URL: z.url(),
  ALLOWED_EVENT_SOURCES: z.pipe(commaList, z.array(z.string()).check(z.minLength(1, 'name at least one upstream source'))),
});

const NotificationSettings = z.object({
  ERASURE_TOPIC_ARN: z.string().check(z.startsWith('arn:')),
  ONCALL_TOPIC_ARN: z.string().check(z.startsWith('arn:')),
  TOOL_VERSION: z._default(z.string(), 'unknown'),
});

const LedgerSettings = z.object({
  LEDGER_TABLE_NAME: z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')),
});

const AlertSettings = z.object({
  ALERT_STATE_TABLE_NAME: z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')),
  // One alert per key per window: 1 minute to 1 day.
  ALERT_WINDOW_MINUTES: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1440)), 15),
  ESCALATION_CONTACT: z.string().check(z.minLength(1), z.maxLength(200)),
  STAGE: z.string().check(z.minLength(1)),
});

const CertificateSettings = z.object({
  CERTIFICATE_SIGNING_KEY_ARN: z.string().check(z.regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/, 'must be a KMS key ARN')),
  ERASER_ROLE_ARN: z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')),
});

export interface KeyPolicy {
  pendingWindowDays: number;
  subjectTagKey: string;
  aliasPrefix: string;
  /** Empty: only the account the function itself runs in. */
  allowedAccountIds: string[];
  /**
   * The closure reasons for which imported key material (Origin EXTERNAL) is deleted at once, before
   * the key is scheduled for deletion; `*` for every closure. Empty: never.
   */
  immediateErasureReasons: string[];
}

/** Whether a closure's keys with imported material lose it at once (the opt-in immediate mode). */
export function isImmediateErasure(policy: Pick<KeyPolicy, 'immediateErasureReasons'>, reason: string | null): boolean {
  const reasons = policy.immediateErasureReasons;
  return reasons.includes('*') || (reason !== null && reasons.includes(reason));
}

export interface IntakeConfig {
  stateMachineArn: string;
  deadLetterQueueUrl: string;
  allowedEventSources: string[];
}

export interface NotificationConfig {
  erasureTopicArn: string;
  oncallTopicArn: string;
  toolVersion: string;
}

export interface AlertConfig {
  alertStateTableName: string;
  alertWindowMinutes: number;
  /** Whom on-call asks when a use of a key pending deletion is not legitimate. */
  escalationContact: string;
  /** The deployed stage, for the commands a runbook tells on-call to type. */
  stage: string;
}

export interface CertificateConfig {
  signingKeyArn: string;
  /** The role that disables and schedules keys: who performed the sanitization. */
  eraserRoleArn: string;
}

type Environment = Record<string, string | undefined>;

export function readKeyPolicy(env: Environment = process.env): KeyPolicy {
  const settings = parse(KeyPolicySettings, env);
  return {
    pendingWindowDays: settings.PENDING_WINDOW_DAYS,
    subjectTagKey: settings.SUBJECT_TAG_KEY,
    aliasPrefix: settings.ALIAS_PREFIX,
    allowedAccountIds: settings.ALLOWED_ACCOUNT_IDS,
    immediateErasureReasons: settings.IMMEDIATE_ERASURE_REASONS,
  };
}

export function readIntakeConfig(env: Environment = process.env): IntakeConfig {
  const settings = parse(IntakeSettings, env);
  return {
    stateMachineArn: settings.ERASURE_STATE_MACHINE_ARN,
    deadLetterQueueUrl: settings.CLOSURE_DEAD_LETTER_QUEUE_URL,
    allowedEventSources: settings.ALLOWED_EVENT_SOURCES,
  };
}

export function readNotificationConfig(env: Environment = process.env): NotificationConfig {
  const settings = parse(NotificationSettings, env);
  return {
    erasureTopicArn: settings.ERASURE_TOPIC_ARN,
    oncallTopicArn: settings.ONCALL_TOPIC_ARN,
    toolVersion: settings.TOOL_VERSION,
  };
}

export function readLedgerTableName(env: Environment = process.env): string {
  return parse(LedgerSettings, env).LEDGER_TABLE_NAME;
}

export function readAlertConfig(env: Environment = process.env): AlertConfig {
  const settings = parse(AlertSettings, env);
  return {
    alertStateTableName: settings.ALERT_STATE_TABLE_NAME,
    alertWindowMinutes: settings.ALERT_WINDOW_MINUTES,
    escalationContact: settings.ESCALATION_CONTACT,
    stage: settings.STAGE,
  };
}

export function readCertificateConfig(env: Environment = process.env): CertificateConfig {
  const settings = parse(CertificateSettings, env);
  return { signingKeyArn: settings.CERTIFICATE_SIGNING_KEY_ARN, eraserRoleArn: settings.ERASER_ROLE_ARN };
}

function parse<T extends z.ZodMiniType>(schema: T, env: Environment): z.infer<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new InvalidSettings(`invalid settings: ${problems.join('; ')}`);
  }
  return result.data;
}
