import type { ErasureExecutions } from '../aws/erasure-executions.ts';
import type { ErasureRequest } from './closure-event.ts';
import { ErasureAttemptsExhausted } from './errors.ts';
import { executionName } from './subject.ts';

export type StartOutcome = 'started' | 'already-in-progress' | 'already-completed' | 'stopped-by-operator';

export interface ErasureStart {
  outcome: StartOutcome;
  executionName: string;
  executionArn: string;
}

// Names are reserved for 90 days, so a subject whose erasure failed gets a fresh attempt under a
// suffixed name; a few attempts cover every real retry, and more means something is broken.
export const MAX_ATTEMPTS = 5;

/**
 * Starts the subject's erasure, or finds the one already under way: EventBridge delivers at least
 * once and operators replay events, so a duplicate must start nothing new. The execution name
 * derives from the subject's fingerprint, never from the id.
 */
export async function startErasure(executions: ErasureExecutions, request: ErasureRequest): Promise<ErasureStart> {
  const input = JSON.stringify({ request });
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const name = executionName(request.subjectFingerprint, attempt);
    const start = await executions.start(name, input);
    if (start.started) return { outcome: 'started', executionName: name, executionArn: start.executionArn };

    const status = await executions.status(start.executionArn);
    switch (status) {
      case 'RUNNING':
      case 'PENDING_REDRIVE':
        return { outcome: 'already-in-progress', executionName: name, executionArn: start.executionArn };
      case 'SUCCEEDED':
        return { outcome: 'already-completed', executionName: name, executionArn: start.executionArn };
      case 'ABORTED':
        // An operator stopped this erasure (a legal hold, a mistaken closure): a redelivered event
        // must not override that decision.
        return { outcome: 'stopped-by-operator', executionName: name, executionArn: start.executionArn };
      case 'FAILED':
      case 'TIMED_OUT':
        continue;
    }
  }
  throw new ErasureAttemptsExhausted(
    `subject ${request.subjectFingerprint}: ${MAX_ATTEMPTS} erasure attempts already failed; investigate before replaying`,
  );
}
