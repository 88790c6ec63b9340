import type { ErasureExecutions, ExecutionStatus } from '../../functions/lib/aws/erasure-executions.ts';

/**
 * Step Functions as intake sees it, in memory: the execution names already taken, each with its
 * status. A name not taken starts (and runs); `started` lists the names this double started.
 */
export function erasureExecutionsDouble(taken: Record<string, ExecutionStatus>): ErasureExecutions & { started: string[] } {
  const started: string[] = [];
  return {
    started,
    async start(name) {
      if (taken[name]) return { started: false, executionArn: `arn:execution:${name}` };
      started.push(name);
      taken[name] = 'RUNNING';
      return { started: true, executionArn: `arn:execution:${name}` };
    },
    async status(executionArn) {
      return taken[executionArn.replace('arn:execution:', '')] ?? 'RUNNING';
    },
  };
}
