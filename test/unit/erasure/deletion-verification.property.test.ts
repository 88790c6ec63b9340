import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KmsKey } from '../../../functions/lib/aws/kms-keys.ts';
import type { ScheduledKey } from '../../../functions/lib/erasure/deletion-scheduling.ts';
import { OVERDUE_AFTER_MS, RECHECK_INTERVAL_MS, firstCheckAt, secondsUntil, verifyErasure, wholeSecondsAfter } from '../../../functions/lib/erasure/deletion-verification.ts';

const NOW = new Date('2026-12-01T12:00:00.250Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What KMS says of one scheduled key when the erasure looks: gone, still waiting, or taken back. */
type Answer =
  | { kind: 'deleted' }
  | { kind: 'pending'; dueInMs: number }
  | { kind: 'cancelled'; keyState: 'Disabled' | 'Enabled' };

const keyArn = (index: number) => `arn:aws:kms:eu-west-1:111122223333:key/0000000${index}-1111-2222-3333-444455556666`;

function scheduledKey(index: number, answer: Answer): ScheduledKey {
  const due = answer.kind === 'pending' ? NOW.getTime() + answer.dueInMs : NOW.getTime() - DAY;
  return {
    keyId: keyArn(index).split('/')[1] ?? '',
    keyArn: keyArn(index),
    keyState: 'PendingDeletion',
    deletionDate: new Date(due).toISOString(),
    pendingWindowDays: 7,
    alreadyScheduled: false,
  };
}

function kmsKey(arn: string, answer: Answer): KmsKey | undefined {
  if (answer.kind === 'deleted') return undefined;
  return {
    keyId: arn.split('/')[1] ?? '',
    keyArn: arn,
    accountId: '111122223333',
    keyManager: 'CUSTOMER',
    keyState: answer.kind === 'pending' ? 'PendingDeletion' : answer.keyState,
    origin: 'AWS_KMS',
    multiRegion: false,
    deletionDate: answer.kind === 'pending' ? new Date(NOW.getTime() + answer.dueInMs) : undefined,
  };
}

/** KMS answering DescribeKey for each key by ARN, each answer resolved when the scheduler says. */
function kmsAnswering(answers: Map<string, Answer>, scheduler?: fc.Scheduler) {
  const describeKey = async (arn: string) => {
    const answer = answers.get(arn);
    if (!answer) throw new Error(`the erasure asked about ${arn}, which it never scheduled`);
    return kmsKey(arn, answer);
  };
  return { describeKey: scheduler ? scheduler.scheduleFunction(describeKey) : describeKey };
}

// Pending keys are due anywhere from just short of overdue (KMS late) to a month ahead.
const answer: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant<Answer>({ kind: 'deleted' }),
  fc.integer({ min: -OVERDUE_AFTER_MS + HOUR, max: 30 * DAY }).map((dueInMs): Answer => ({ kind: 'pending', dueInMs })),
  fc.constantFrom<Answer>({ kind: 'cancelled', keyState: 'Disabled' }, { kind: 'cancelled', keyState: 'Enabled' }),
);

describe('verifying an erasure of several keys', () => {
  it('does not report the erasure deleted while one of its keys is still pending deletion', async () => {
    const answers = new Map<string, Answer>([
      [keyArn(1), { kind: 'deleted' }],
      [keyArn(2), { kind: 'pending', dueInMs: 2 * DAY }],
    ]);
    const scheduled = [scheduledKey(1, answers.get(keyArn(1))!), scheduledKey(2, answers.get(keyArn(2))!)];

    const verification = await verifyErasure(kmsAnswering(answers), scheduled, NOW);

    expect(verification.status).toBe('Pending');
    expect(verification.nextCheckAt).toBe(wholeSecondsAfter(NOW.getTime() + 2 * DAY));
  });

  it('does not report the erasure deleted when only its last key is gone', async () => {
    const answers = new Map<string, Answer>([
      [keyArn(1), { kind: 'pending', dueInMs: -HOUR }],
      [keyArn(2), { kind: 'pending', dueInMs: -HOUR }],
      [keyArn(3), { kind: 'deleted' }],
    ]);
    const scheduled = [1, 2, 3].map((index) => scheduledKey(index, answers.get(keyArn(index))!));

    const verification = await verifyErasure(kmsAnswering(answers), scheduled, NOW);

    expect(verification.status).toBe('Pending');
    expect(verification.keys.map((key) => key.fate)).toEqual(['PendingDeletion', 'PendingDeletion', 'Deleted']);
  });

  it('reports deleted only when every key is gone, cancelled when any key was taken back, whatever order KMS answers in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 6 }), fc.scheduler(), async (fates, scheduler) => {
        const answers = new Map(fates.map((fate, index) => [keyArn(index), fate]));
        const scheduled = fates.map((fate, index) => scheduledKey(index, fate));

        const verification = await scheduler.waitFor(verifyErasure(kmsAnswering(answers, scheduler), scheduled, NOW));

        const expected = fates.some((fate) => fate.kind === 'cancelled')
          ? 'Cancelled'
          : fates.every((fate) => fate.kind === 'deleted')
            ? 'Deleted'
            : 'Pending';
        expect(verification.status).toBe(expected);
        expect(verification.keys.map((key) => key.keyArn)).toEqual(scheduled.map((key) => key.keyArn));
        if (expected === 'Pending') {
          expect(Date.parse(verification.nextCheckAt ?? '')).toBeGreaterThan(NOW.getTime());
          expect(verification.recheckInSeconds).toBeGreaterThanOrEqual(1);
        } else {
          expect(verification).toMatchObject({ nextCheckAt: null, recheckInSeconds: null });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same verdict whichever order the keys were scheduled in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(answer, { minLength: 2, maxLength: 6 }).chain((fates) =>
          fc.tuple(fc.constant(fates), fc.shuffledSubarray(fates.map((_, index) => index), { minLength: fates.length, maxLength: fates.length })),
        ),
        async ([fates, order]) => {
          const answers = new Map(fates.map((fate, index) => [keyArn(index), fate]));
          const inOrder = fates.map((fate, index) => scheduledKey(index, fate));
          const shuffled = order.map((index) => inOrder[index]!);

          const [first, second] = await Promise.all([
            verifyErasure(kmsAnswering(answers), inOrder, NOW),
            verifyErasure(kmsAnswering(answers), shuffled, NOW),
          ]);

          expect(second.status).toBe(first.status);
          expect(second.nextCheckAt).toBe(first.nextCheckAt);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('waits for the latest deletion date while every pending key is still ahead of it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 30 * DAY }), { minLength: 1, maxLength: 6 }), async (dueIn) => {
        const fates = dueIn.map((dueInMs): Answer => ({ kind: 'pending', dueInMs }));
        const answers = new Map(fates.map((fate, index) => [keyArn(index), fate]));

        const verification = await verifyErasure(kmsAnswering(answers), fates.map((fate, index) => scheduledKey(index, fate)), NOW);

        expect(verification.nextCheckAt).toBe(wholeSecondsAfter(NOW.getTime() + Math.max(...dueIn)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('checking again while KMS is late', () => {
  // How long past their deletion dates the keys still pending are: KMS late, but not yet overdue.
  const lateness = fc.array(fc.integer({ min: 1, max: OVERDUE_AFTER_MS }), { minLength: 1, maxLength: 4 });

  it('never schedules the next check past overdue + 1 h, nor sooner than an hour, and backs off as long again as KMS has been late', async () => {
    await fc.assert(
      fc.asyncProperty(lateness, async (lateByMs) => {
        const fates = lateByMs.map((late): Answer => ({ kind: 'pending', dueInMs: -late }));
        const answers = new Map(fates.map((fate, index) => [keyArn(index), fate]));
        const latestDue = NOW.getTime() - Math.min(...lateByMs);
        const overduePlusAnHour = latestDue + OVERDUE_AFTER_MS + RECHECK_INTERVAL_MS;

        const verification = await verifyErasure(kmsAnswering(answers), fates.map((fate, index) => scheduledKey(index, fate)), NOW);
        const next = Date.parse(verification.nextCheckAt ?? '');

        expect(verification.status).toBe('Pending');
        expect(next).toBeLessThanOrEqual(Date.parse(wholeSecondsAfter(overduePlusAnHour)));
        expect(next).toBeGreaterThanOrEqual(NOW.getTime() + RECHECK_INTERVAL_MS);
        expect(next).toBeGreaterThanOrEqual(Math.min(NOW.getTime() + (NOW.getTime() - latestDue), overduePlusAnHour));
      }),
      { numRuns: 200 },
    );
  });
});

describe('the deletion-date arithmetic', () => {
  const instant = fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') });

  it('never checks before an instant, and by less than a second after it, in RFC 3339 whole seconds', () => {
    fc.assert(
      fc.property(instant, (epochMs) => {
        const text = wholeSecondsAfter(epochMs);
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(Date.parse(text)).toBeGreaterThanOrEqual(epochMs);
        expect(Date.parse(text) - epochMs).toBeLessThan(1000);
      }),
      { numRuns: 200 },
    );
  });

  it('waits at least a second, and long enough to reach the instant', () => {
    fc.assert(
      fc.property(instant, instant, (nowMs, atMs) => {
        const seconds = secondsUntil(new Date(atMs).toISOString(), new Date(nowMs));
        expect(Number.isInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(1);
        expect(nowMs + seconds * 1000).toBeGreaterThanOrEqual(atMs);
        if (atMs - nowMs > 1000) expect(nowMs + (seconds - 1) * 1000).toBeLessThan(atMs);
      }),
      { numRuns: 200 },
    );
  });

  it('checks freshly scheduled keys no earlier than the latest deletion date, nor earlier than now', () => {
    const key = (deletionMs: number): ScheduledKey => ({
      keyId: 'k',
      keyArn: keyArn(0),
      keyState: 'PendingDeletion',
      deletionDate: new Date(deletionMs).toISOString(),
      pendingWindowDays: 7,
      alreadyScheduled: false,
    });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -30 * DAY, max: 30 * DAY }), { minLength: 1, maxLength: 6 }), (offsets) => {
        const dates = offsets.map((offset) => NOW.getTime() + offset);
        expect(firstCheckAt(dates.map(key), NOW)).toBe(wholeSecondsAfter(Math.max(NOW.getTime(), ...dates)));
      }),
      { numRuns: 150 },
    );
  });
});
