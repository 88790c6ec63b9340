/**
 * What a stage's settings may be, written once for the two places that check them:
 * deploy/settings.cjs, on the stage's params before anything is packaged, and settings.ts, on each
 * function's environment when it starts (a function deployed some other way still refuses a bad
 * value). Each rule reads the value as text: a param may arrive as a YAML number, an environment
 * variable is always a string.
 *
 * It imports nothing: serverless.yml loads it at package time, through deploy/settings.cjs, with
 * no bundler in between (Node 22 strips its types).
 */
export interface SettingRule {
  /** What a valid value is; completes "<setting> must be ...". */
  readonly mustBe: string;
  readonly accepts: (text: string) => boolean;
}

// KMS accepts a waiting period of 7 to 30 days (docs/aws-facts.md: ScheduleKeyDeletion).
export const MIN_PENDING_WINDOW_DAYS = 7;
export const MAX_PENDING_WINDOW_DAYS = 30;

// One alert per key per window: 1 minute to 1 day.
export const MIN_ALERT_WINDOW_MINUTES = 1;
export const MAX_ALERT_WINDOW_MINUTES = 1440;

// A KMS tag key: 1 to 128 Unicode letters, digits, spaces and _ . : / = + - @. KMS refuses the
// prefix aws: in any letter case with a TagException, so a subject tag there could tag no key.
const TAG_KEY = /^[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u;
const RESERVED_TAG_KEY_PREFIX = 'aws:';

// A subject's alias is <aliasPrefix>/<subjectId>, and alias/aws/ is reserved for AWS managed keys:
// CreateAlias would refuse every alias under a prefix of alias/aws itself too.
const ALIAS_PREFIX = /^alias\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/;
const RESERVED_ALIAS_PREFIX = 'alias/aws/';

const ACCOUNT_ID = /^\d{12}$/;

// A closure's reason is at most 1,000 characters (the AccountClosed contract, closure-event.ts):
// a longer one could never match.
const MAX_CLOSURE_REASON_LENGTH = 1000;

const MAX_ESCALATION_CONTACT_LENGTH = 200;

const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;

/** A comma-separated setting as its items, blanks dropped: "a, b," is [a, b], "" is []. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function wholeNumberFrom(min: number, max: number, unit: string, note = ''): SettingRule {
  return {
    mustBe: `a whole number of ${unit} from ${min} to ${max}${note}`,
    accepts: (text) => {
      const value = Number(text);
      return Number.isInteger(value) && value >= min && value <= max;
    },
  };
}

export const settingRules = {
  pendingWindowDays: wholeNumberFrom(MIN_PENDING_WINDOW_DAYS, MAX_PENDING_WINDOW_DAYS, 'days', " (KMS's waiting period)"),
  alertWindowMinutes: wholeNumberFrom(MIN_ALERT_WINDOW_MINUTES, MAX_ALERT_WINDOW_MINUTES, 'minutes'),
  subjectTagKey: {
    mustBe: `a KMS tag key: 1 to 128 letters, digits, spaces or _.:/=+-@, not starting with ${RESERVED_TAG_KEY_PREFIX} (reserved for AWS)`,
    accepts: (text) => TAG_KEY.test(text) && !text.toLowerCase().startsWith(RESERVED_TAG_KEY_PREFIX),
  },
  aliasPrefix: {
    mustBe: `alias/<name> without a trailing slash, outside ${RESERVED_ALIAS_PREFIX} (reserved for AWS managed keys)`,
    accepts: (text) => ALIAS_PREFIX.test(text) && !`${text}/`.startsWith(RESERVED_ALIAS_PREFIX),
  },
  allowedAccountIds: {
    mustBe: '12-digit account ids, comma-separated',
    accepts: (text) => splitList(text).every((id) => ACCOUNT_ID.test(id)),
  },
  immediateErasureReasons: {
    mustBe: `closure reasons (or *), comma-separated, at most ${MAX_CLOSURE_REASON_LENGTH} characters each`,
    accepts: (text) => splitList(text).every((reason) => reason.length <= MAX_CLOSURE_REASON_LENGTH),
  },
  allowedEventSources: {
    mustBe: 'at least one upstream event source, comma-separated',
    accepts: (text) => splitList(text).length > 0,
  },
  escalationContact: {
    mustBe: `whom on-call asks, in 1 to ${MAX_ESCALATION_CONTACT_LENGTH} characters`,
    accepts: (text) => text.trim().length > 0 && text.trim().length <= MAX_ESCALATION_CONTACT_LENGTH,
  },
  auditSchedule: {
    mustBe: 'an EventBridge schedule expression, rate(...) or cron(...) with six fields',
    accepts: (text) => SCHEDULE_EXPRESSION.test(text),
  },
} as const satisfies Record<string, SettingRule>;

export type SettingName = keyof typeof settingRules;
