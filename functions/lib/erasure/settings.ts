import * as z from '../runtime/zod.ts';
import { InvalidSettings } from './errors.ts';
import { MAX_PENDING_WINDOW_DAYS, settingRules, splitList, type SettingRule } from './settings-rules.ts';

/**
 * Deployment settings, read from the environment that serverless.yml gives each function. A bad
 * value is refused when the function starts (and earlier, at package time, by serverless.yml's own
 * check against the same rules, settings-rules.ts), never discovered halfway through an erasure.
 */

/** An environment variable that must obey its rule; the rule's words name what was expected. */
const obeying = (rule: SettingRule) => z.string().check(z.refine(rule.accepts, `must be ${rule.mustBe}`));

const wholeNumber = (rule: SettingRule, fallback: number) => z._default(z.pipe(obeying(rule), z.transform(Number)), fallback);

/** An absent list is empty, and checked as such: a list that must name something refuses it. */
const commaList = (rule: SettingRule) => z.pipe(z.pipe(z._default(z.string(), ''), obeying(rule)), z.transform(splitList));

const dynamoDbTableName = z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'));

const KeyPolicySettings = z.object({
  PENDING_WINDOW_DAYS: wholeNumber(settingRules.pendingWindowDays, MAX_PENDING_WINDOW_DAYS),
  SUBJECT_TAG_KEY: obeying(settingRules.subjectTagKey),
  ALIAS_PREFIX: obeying(settingRules.aliasPrefix),
  ALLOWED_ACCOUNT_IDS: commaList(settingRules.allowedAccountIds),
  IMMEDIATE_ERASURE_REASONS: commaList(settingRules.immediateErasureReasons),
});

const IntakeSettings = z.object({
  ERASURE_STATE_MACHINE_ARN: z.string().check(z.startsWith('arn:')),
  CLOSURE_DEAD_LETTER_QUEUE_URL: z.url(),
  ALLOWED_EVENT_SOURCES: commaList(settingRules.allowedEventSources),
});

const NotificationSettings = z.object({
  ERASURE_TOPIC_ARN: z.string().check(z.startsWith('arn:')),
  ONCALL_TOPIC_ARN: z.string().check(z.startsWith('arn:')),
  TOOL_VERSION: z._default(z.string(), 'unknown'),
});

const LedgerSettings = z.object({
  LEDGER_TABLE_NAME: dynamoDbTableName,
});

const AlertSettings = z.object({
  ALERT_STATE_TABLE_NAME: dynamoDbTableName,
  ALERT_WINDOW_MINUTES: wholeNumber(settingRules.alertWindowMinutes, 15),
  ESCALATION_CONTACT: z.pipe(obeying(settingRules.escalationContact), z.transform((contact: string) => contact.trim())),
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
