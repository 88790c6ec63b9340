import { beforeEach, describe, expect, it } from 'vitest';
import { admitClosure } from '../../../functions/lib/erasure/closure-admission.ts';
import type { Notification } from '../../../functions/lib/erasure/notifications.ts';
import { erasureExecutionsDouble } from '../../support/erasure-executions-double.ts';
import { ledgerDouble } from '../../support/ledger-double.ts';
import { ERASURE_TOPIC_ARN, ONCALL_TOPIC_ARN, erasureRequestFor, notificationConfig } from '../../support/settings.ts';

const request = erasureRequestFor('user-1');
const subject = request.subjectFingerprint;
const NOW = new Date('2026-11-28T10:00:00Z');
const first = `erasure-${subject}`;

describe('admitClosure', () => {
  let ledger: ReturnType<typeof ledgerDouble>;
  let published: Notification[];
  const context = (executions = erasureExecutionsDouble({})) => ({
    executions,
    ledger,
    publisher: { publish: async (notification: Notification) => (published.push(notification), `m-${published.length}`) },
    config: notificationConfig,
    now: NOW,
  });
  beforeEach(() => {
    ledger = ledgerDouble();
    published = [];
  });
  const held = () => published.map((notification) => ({ topicArn: notification.topicArn, ...JSON.parse(notification.message) }));

  it('starts the erasure of a closure, telling nobody yet', async () => {
    await expect(admitClosure(request, context())).resolves.toEqual({ outcome: 'started', executionArn: `arn:execution:${first}` });
    expect(published).toEqual([]);
  });

  it('tells the erasure topic and on-call of a closure that a legal hold keeps from erasing', async () => {
    await ledger.record(subject, null, { type: 'LegalHoldPlaced', by: 'legal', reason: 'litigation', until: '2027-06-30T00:00:00.000Z' }, { requestId: 'r-1' });
    await expect(admitClosure(request, context())).resolves.toEqual({ outcome: 'held', executionArn: null, messageIds: ['m-1', 'm-2'] });
    expect(held()).toMatchObject([
      { topicArn: ERASURE_TOPIC_ARN, eventType: 'held', because: 'LegalHold', heldBy: 'legal', reason: 'litigation', until: '2027-06-30T00:00:00.000Z', previousErasure: null },
      { topicArn: ONCALL_TOPIC_ARN, eventType: 'held', because: 'LegalHold' },
    ]);
  });

  it('tells of a closure awaiting a release after a cancelled erasure, naming who cancelled it and why', async () => {
    const previous = `arn:execution:${first}`;
    await ledger.record(subject, previous, { type: 'ErasureStarted', eventId: 'event-0', executionName: first });
    await ledger.record(subject, previous, { type: 'ErasureCancelled', by: 'ops', reason: 'mistaken closure', keys: [] });
    await expect(admitClosure(request, context())).resolves.toEqual({ outcome: 'awaiting-release', executionArn: previous, messageIds: ['m-1', 'm-2'] });
    expect(held()[0]).toMatchObject({
      because: 'AwaitingRelease',
      heldBy: 'cancelled by ops: mistaken closure',
      reason: "the subject's last erasure was cancelled; an operator must release the subject before a closure erases it",
      until: null,
      previousErasure: previous,
    });
  });

  it('tells of a closure awaiting a release after an execution stopped that the ledger has not heard of', async () => {
    const executions = erasureExecutionsDouble({ [first]: 'ABORTED' });
    await expect(admitClosure(request, context(executions))).resolves.toMatchObject({ outcome: 'awaiting-release', executionArn: `arn:execution:${first}` });
    expect(held()[0]).toMatchObject({
      because: 'AwaitingRelease',
      heldBy: 'erasure stopped',
      reason: "the subject's last erasure was stopped; an operator must release the subject before a closure erases it",
      previousErasure: `arn:execution:${first}`,
    });
  });
});
