'use strict';
/**
 * Deploy-time settings for serverless.yml: reads the stage's params, refuses a bad value before
 * anything is packaged or deployed, and derives what YAML alone cannot express (a list from a
 * comma-separated param, an IAM condition whose key contains the subject tag key).
 *
 * The same rules are enforced again when each function starts (functions/lib/erasure/settings.ts):
 * a function deployed some other way still refuses to run with a bad setting.
 */
const MIN_PENDING_WINDOW_DAYS = 7;
const MAX_PENDING_WINDOW_DAYS = 30;

function list(value) {
  return String(value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function refuse(message) {
  throw new Error(`crypto-erasure settings: ${message}`);
}

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => resolveVariable(`param:${name}`);

  const pendingWindowDays = Number(await param('pendingWindowDays'));
  if (!Number.isInteger(pendingWindowDays) || pendingWindowDays < MIN_PENDING_WINDOW_DAYS || pendingWindowDays > MAX_PENDING_WINDOW_DAYS) {
    refuse(`pendingWindowDays must be a whole number of days from ${MIN_PENDING_WINDOW_DAYS} to ${MAX_PENDING_WINDOW_DAYS} (KMS's waiting period), got ${await param('pendingWindowDays')}`);
  }

  const allowedEventSources = list(await param('allowedEventSources'));
  if (allowedEventSources.length === 0) refuse('allowedEventSources must name at least one upstream source');

  const subjectTagKey = String(await param('subjectTagKey'));
  if (!/^[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u.test(subjectTagKey) || subjectTagKey.startsWith('aws:')) {
    refuse(`subjectTagKey ${subjectTagKey} is not a valid KMS tag key`);
  }

  const aliasPrefix = String(await param('aliasPrefix'));
  if (!/^alias\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/.test(aliasPrefix) || aliasPrefix.startsWith('alias/aws/')) {
    refuse(`aliasPrefix must look like alias/<name> (not alias/aws/...), got ${aliasPrefix}`);
  }

  const allowedAccountIds = list(await param('allowedAccountIds'));
  if (allowedAccountIds.some((id) => !/^\d{12}$/.test(id))) refuse('allowedAccountIds must be 12-digit account ids');

  const immediateErasureReasons = list(await param('immediateErasureReasons'));
  if (immediateErasureReasons.some((reason) => reason.length > 1000)) refuse('immediateErasureReasons are closure reasons, at most 1000 characters each');

  const alertWindowMinutes = Number(await param('alertWindowMinutes'));
  if (!Number.isInteger(alertWindowMinutes) || alertWindowMinutes < 1 || alertWindowMinutes > 1440) {
    refuse(`alertWindowMinutes must be a whole number of minutes from 1 to 1440, got ${await param('alertWindowMinutes')}`);
  }

  const escalationContact = String(await param('escalationContact') ?? '').trim();
  if (escalationContact.length === 0 || escalationContact.length > 200) refuse('escalationContact must name whom on-call asks, in at most 200 characters');

  const auditSchedule = String(await param('auditSchedule'));
  if (!/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/.test(auditSchedule)) {
    refuse(`auditSchedule must be an EventBridge schedule expression, rate(...) or cron(...) with six fields, got ${auditSchedule}`);
  }

  // A param is a YAML boolean from serverless.yml, a string from --param="protected=true".
  const protectedParam = await param('protected');
  if (![true, false, 'true', 'false'].includes(protectedParam)) refuse(`protected must be true or false, got ${protectedParam}`);
  const stageProtected = protectedParam === true || protectedParam === 'true';

  return {
    pendingWindowDays,
    alertWindowMinutes,
    escalationContact,
    auditSchedule,
    protected: stageProtected,
    allowedEventSources,
    allowedEventSourcesCsv: allowedEventSources.join(','),
    subjectTagKey,
    aliasPrefix,
    allowedAccountIdsCsv: allowedAccountIds.join(','),
    immediateErasureReasonsCsv: immediateErasureReasons.join(','),
    // Destructive KMS actions are allowed only on keys that carry the subject tag: an IAM condition
    // key cannot be built from a variable inside YAML, so it is built here.
    subjectTaggedKeysOnly: { StringLike: { [`aws:ResourceTag/${subjectTagKey}`]: '?*' } },
  };
};
