import { ExecutionError, StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { VirtualTimePlan } from './virtual-time.ts';

/** What runs a Task state locally: given the state's effective input (its Parameters applied), returns its result. */
export type TaskHandler = (payload: unknown) => Promise<unknown>;

export interface LocalRunOptions {
  /** One handler per Task state of the planned definition, the Waits it rewrote as Tasks included. */
  handlers: Record<string, TaskHandler>;
  /** The Context Object's Execution and StateMachine fields. */
  context: NonNullable<RunOptions['context']>;
}

/**
 * Starts a definition planned by `onVirtualTime` on aws-local-stepfunctions. The runner calls the
 * handlers for every Task and retries at once: whoever supplies the handlers decides what a Wait,
 * a retry's backoff and a callback take, on whatever clock they keep. The definition is not
 * validated again: it was when it was deployed or created.
 */
export function startLocalRun(plan: VirtualTimePlan, input: unknown, options: LocalRunOptions) {
  const runner = new StateMachine(plan.definition as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });
  return runner.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: options.handlers as Record<string, (payload: unknown) => Promise<never>>,
      retryIntervalOverrides: Object.fromEntries([...plan.tasks.keys()].map((name) => [name, 0])),
    },
    context: options.context,
  });
}

/** The error an execution failed with, as its States error name and cause; undefined for anything but a failed execution. */
export function executionFailure(error: unknown): Error | undefined {
  return error instanceof ExecutionError ? (error.cause as Error) : undefined;
}
