'use strict';
/**
 * Deploy-time settings for serverless.yml: reads the stage's params, refuses a bad value before
 * anything is packaged or deployed, and derives what YAML alone cannot express (a list from a
 * comma-separated param, an IAM condition whose key contains the subject tag key).
 *
 * The rules themselves live in functions/lib/erasure/settings-rules.ts, which each function also
 * checks its environment against when it starts: a function deployed some other way still refuses
 * to run with a bad setting.
 */
const { settingRules, splitList } = require('../functions/lib/erasure/settings-rules.ts');

function refuse(message) {
  throw new Error(`crypto-erasure settings: ${message}`);
}

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => resolveVariable(`param:${name}`);
  const checked = async (name) => {
    const value = await param(name);
    const text = value === undefined || value === null ? '' : String(value);
    const rule = settingRules[name];
    if (!rule.accepts(text)) refuse(`${name} must be ${rule.mustBe}, got ${text}`);
    return text;
  };

  const pendingWindowDays = Number(await checked('pendingWindowDays'));
  const allowedEventSources = splitList(await checked('allowedEventSources'));
  const subjectTagKey = await checked('subjectTagKey');
  const aliasPrefix = await checked('aliasPrefix');
  const allowedAccountIds = splitList(await checked('allowedAccountIds'));
  const immediateErasureReasons = splitList(await checked('immediateErasureReasons'));
  const alertWindowMinutes = Number(await checked('alertWindowMinutes'));
  const escalationContact = (await checked('escalationContact')).trim();
  const auditSchedule = await checked('auditSchedule');

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
