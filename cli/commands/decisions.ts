import { randomUUID } from 'node:crypto';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { kmsKeys } from '../../functions/lib/aws/kms-keys.ts';
import { notificationPublisher } from '../../functions/lib/aws/notification-publisher.ts';
import { cancelErasure, placeLegalHold, releaseSubject, type OperatorContext } from '../../functions/lib/erasure/operator-decisions.ts';
import { CliError } from '../exit-codes.ts';
import type { Target } from '../target.ts';

/**
 * `erasure cancel`, `hold` and `release`: an operator's decisions, carried out on the target and
 * recorded in its ledger with who made them and why.
 */
export function operatorContext(target: Target): OperatorContext {
  return {
    ledger: target.ledger,
    kms: kmsKeys(target.clientConfig),
    executions: {
      async stop(executionArn, error, cause) {
        await target.clients.sfn.send(new StopExecutionCommand({ executionArn, error, cause: cause.slice(0, 32_768) }));
      },
    },
    publisher: notificationPublisher(target.clients.sns),
    config: { erasureTopicArn: target.resources.erasureTopicArn, oncallTopicArn: target.resources.oncallTopicArn, toolVersion: 'erasure CLI' },
    now: target.now(),
    requestId: randomUUID(),
  };
}

export function cancel(target: Target, subject: string, options: { reason: string; by?: string; enable?: boolean }) {
  return cancelErasure(subject, { by: options.by ?? target.operator, reason: requireReason(options.reason), enable: options.enable ?? false }, operatorContext(target));
}

export function hold(target: Target, subject: string, options: { reason: string; by?: string; until?: string }) {
  return placeLegalHold(subject, { by: options.by ?? target.operator, reason: requireReason(options.reason), until: untilOf(options.until) }, operatorContext(target));
}

export function release(target: Target, subject: string, options: { reason: string; by?: string }) {
  return releaseSubject(subject, { by: options.by ?? target.operator, reason: requireReason(options.reason) }, operatorContext(target));
}

function requireReason(reason: string | undefined): string {
  const trimmed = reason?.trim() ?? '';
  if (trimmed.length === 0) throw new CliError('badInput', '--reason is required: the ledger keeps why, for whoever asks later');
  if (trimmed.length > 1000) throw new CliError('badInput', '--reason is at most 1,000 characters');
  return trimmed;
}

function untilOf(until: string | undefined): string | null {
  if (until === undefined) return null;
  const instant = Date.parse(until);
  if (Number.isNaN(instant)) throw new CliError('badInput', `--until ${until} is not a date (use ISO 8601, e.g. 2027-06-30 or 2027-06-30T00:00:00Z)`);
  return new Date(instant).toISOString();
}
