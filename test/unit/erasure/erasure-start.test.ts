import { describe, expect, it } from 'vitest';
import type { ErasureExecutions, ExecutionStatus } from '../../../functions/lib/aws/erasure-executions.ts';
import type { ErasureRequest } from '../../../functions/lib/erasure/closure-event.ts';
import { MAX_ATTEMPTS, startErasure } from '../../../functions/lib/erasure/erasure-start.ts';
import { erasureRequestFor } from '../../support/settings.ts';

const request: ErasureRequest = { ...erasureRequestFor('user-1'), eventId: 'event-1' };

/** Step Functions as intake sees it: names already taken, each with its status. */
function executions(taken: Record<string, ExecutionStatus>): ErasureExecutions & { started: string[] } {
  const started: string[] = [];
  return {
    started,
    async start(name) {
      if (taken[name]) return { started: false, executionArn: `arn:execution:${name}` };
      started.push(name);
      return { started: true, executionArn: `arn:execution:${name}` };
    },
    async status(executionArn) {
      return taken[executionArn.replace('arn:execution:', '')] ?? 'RUNNING';
    },
  };
}

const first = `erasure-${request.subjectFingerprint}`;

describe('startErasure', () => {
  it('starts the first attempt under a name made from the fingerprint', async () => {
    const sfn = executions({});
    await expect(startErasure(sfn, request)).resolves.toMatchObject({ outcome: 'started', executionName: first });
    expect(sfn.started).toEqual([first]);
  });

  it('starts nothing new for a subject already being erased', async () => {
    const sfn = executions({ [first]: 'RUNNING' });
    await expect(startErasure(sfn, request)).resolves.toMatchObject({ outcome: 'already-in-progress' });
    expect(sfn.started).toEqual([]);
  });

  it('starts nothing new for a subject already erased', async () => {
    const sfn = executions({ [first]: 'SUCCEEDED' });
    await expect(startErasure(sfn, request)).resolves.toMatchObject({ outcome: 'already-completed' });
    expect(sfn.started).toEqual([]);
  });

  it("respects an operator's stop: a redelivery does not restart the erasure", async () => {
    const sfn = executions({ [first]: 'ABORTED' });
    await expect(startErasure(sfn, request)).resolves.toMatchObject({ outcome: 'stopped-by-operator' });
    expect(sfn.started).toEqual([]);
  });

  it('starts a fresh attempt after a failed one', async () => {
    const sfn = executions({ [first]: 'FAILED', [`${first}-2`]: 'TIMED_OUT' });
    await expect(startErasure(sfn, request)).resolves.toMatchObject({ outcome: 'started', executionName: `${first}-3` });
  });

  it('stops with ErasureAttemptsExhausted after too many failed attempts', async () => {
    const taken: Record<string, ExecutionStatus> = {};
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) taken[attempt === 1 ? first : `${first}-${attempt}`] = 'FAILED';
    await expect(startErasure(executions(taken), request)).rejects.toMatchObject({ name: 'ErasureAttemptsExhausted' });
  });
});
