import type { Clock } from '../clock.ts';
import type { Definition, StateDefinition } from './definition.ts';
import { TASK_TOKEN_PLACEHOLDER, TIMEOUT_SECONDS_FIELD } from './task-tokens.ts';

/**
 * aws-local-stepfunctions waits and backs off on the real clock (setTimeout, Date.now). To put
 * Wait states and retries on the embedded AWS's one virtual clock, the definition it runs is
 * rewritten:
 * - every Wait becomes a Task answered by `virtualWait`, which sleeps on the virtual clock and
 *   passes its input through, as a Wait does;
 * - a Task keeps its Retry, so the runner still matches errors and counts attempts, but the runner
 *   retries at once (its intervals are overridden to 0) and the backoff is slept on the virtual
 *   clock by `RetryBackoff` before the failure is handed back;
 * - a Task's TimeoutSeconds is enforced by the embedded Step Functions on the real clock (a
 *   handler's work takes real time), so the runner's own timer is pushed out of the way;
 * - Map and Parallel states' own Retry intervals are divided by the time scale: the runner sleeps
 *   those itself, at the clock's rate but deaf to `advance`;
 * - the machine's own TimeoutSeconds is taken out (the runner would time it on the real clock) and
 *   handed back, for the embedded Step Functions to time on the virtual clock.
 */
export const VIRTUAL_WAIT_RESOURCE = 'arn:aws:states:::embedded:wait';

// The runner arms one real setTimeout per Task timeout; Node caps timers at 2^31-1 ms.
const WAIT_TASK_TIMEOUT_SECONDS = 2_000_000;

export interface VirtualTimePlan {
  definition: Definition;
  /** The original Wait states, by name. */
  waits: Map<string, StateDefinition>;
  /** The original Task states (Retry, TimeoutSeconds), by name. */
  tasks: Map<string, StateDefinition>;
  /** The machine's top-level TimeoutSeconds, if it has one. */
  timeoutSeconds: number | undefined;
}

export function onVirtualTime(definition: Definition, timeScale: number): VirtualTimePlan {
  const waits = new Map<string, StateDefinition>();
  const tasks = new Map<string, StateDefinition>();
  const rewrite = (machine: Definition): Definition => ({
    ...machine,
    States: Object.fromEntries(
      Object.entries(machine.States).map(([name, state]) => {
        if (state.Type === 'Wait') {
          waits.set(name, state);
          const { Seconds: _s, Timestamp: _t, SecondsPath: _sp, TimestampPath: _tp, ...rest } = state;
          return [name, { ...rest, Type: 'Task', Resource: VIRTUAL_WAIT_RESOURCE, TimeoutSeconds: WAIT_TASK_TIMEOUT_SECONDS }];
        }
        if (state.Type === 'Task') {
          tasks.set(name, state);
          const { TimeoutSecondsPath: timeoutPath, ...task } = state;
          const rewritten: StateDefinition = { ...task, TimeoutSeconds: WAIT_TASK_TIMEOUT_SECONDS };
          if (String(state.Resource).endsWith('.waitForTaskToken')) {
            // The token, and the seconds TimeoutSecondsPath selects, reach the embedded Step
            // Functions through the parameters: see task-tokens.ts.
            rewritten.Parameters = {
              ...(withTokenPlaceholder(state.Parameters ?? {}) as Record<string, unknown>),
              ...(typeof timeoutPath === 'string' ? { [`${TIMEOUT_SECONDS_FIELD}.$`]: timeoutPath } : {}),
            };
          }
          return [name, rewritten];
        }
        const rewritten: StateDefinition = { ...state };
        if (Array.isArray(state.Retry)) {
          rewritten.Retry = (state.Retry as Record<string, unknown>[]).map((retrier) => ({
            ...retrier,
            // A discrete clock (time scale 0) takes no real time at all.
            IntervalSeconds: timeScale > 0 ? ((retrier.IntervalSeconds as number | undefined) ?? 1) / timeScale : 0,
            ...(retrier.MaxDelaySeconds !== undefined ? { MaxDelaySeconds: timeScale > 0 ? (retrier.MaxDelaySeconds as number) / timeScale : 0 } : {}),
          }));
        }
        for (const field of ['ItemProcessor', 'Iterator'] as const) {
          if (state[field]) rewritten[field] = rewrite(state[field] as Definition);
        }
        if (Array.isArray(state.Branches)) rewritten.Branches = (state.Branches as Definition[]).map(rewrite);
        return [name, rewritten];
      }),
    ),
  });
  const { TimeoutSeconds: timeoutSeconds, ...machine } = definition;
  return { definition: rewrite(machine as Definition), waits, tasks, timeoutSeconds: typeof timeoutSeconds === 'number' ? timeoutSeconds : undefined };
}

/** Parameters with every `"x.$": "$$.Task.Token"` made `"x": <placeholder>`. */
function withTokenPlaceholder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withTokenPlaceholder);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) =>
      key.endsWith('.$') && item === '$$.Task.Token' ? [key.slice(0, -2), TASK_TOKEN_PLACEHOLDER] : [key, withTokenPlaceholder(item)],
    ),
  );
}

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/**
 * A Task's retry backoff on the virtual clock. Attempts are counted per state and input, which
 * tells apart the concurrent iterations of a Map and matches the runner's own count, since a
 * retry repeats the same input.
 */
export class RetryBackoff {
  private readonly attempts = new Map<string, number>();
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  succeeded(stateName: string, input: unknown): void {
    const prefix = `${stateName}\u0000${JSON.stringify(input)}\u0000`;
    for (const key of this.attempts.keys()) if (key.startsWith(prefix)) this.attempts.delete(key);
  }

  /** How long (virtual ms) to back off before the retry the runner is about to make; undefined when it will not retry. */
  delayBeforeRetry(state: StateDefinition, stateName: string, input: unknown, error: Error): number | undefined {
    const retriers = (state.Retry as Retrier[] | undefined) ?? [];
    const index = retriers.findIndex((retrier) =>
      retrier.ErrorEquals.some((name) => name === error.name || name === 'States.ALL' || (name === 'States.TaskFailed' && error.name !== 'States.Timeout')),
    );
    const retrier = retriers[index];
    if (!retrier) return undefined;
    const key = `${stateName}\u0000${JSON.stringify(input)}\u0000${index}`;
    const made = this.attempts.get(key) ?? 0;
    if (made >= (retrier.MaxAttempts ?? 3)) {
      this.attempts.delete(key);
      return undefined;
    }
    this.attempts.set(key, made + 1);
    const interval = (retrier.IntervalSeconds ?? 1) * 1000 * (retrier.BackoffRate ?? 2) ** made;
    const capped = retrier.MaxDelaySeconds !== undefined ? Math.min(interval, retrier.MaxDelaySeconds * 1000) : interval;
    return retrier.JitterStrategy === 'FULL' ? this.random() * capped : capped;
  }
}

/** Sleeps on the virtual clock for as long as the original Wait state says, and returns its input. */
export async function virtualWait(wait: StateDefinition, input: unknown, clock: Clock, signal: AbortSignal): Promise<unknown> {
  if (typeof wait.Seconds === 'number') {
    await clock.sleep(wait.Seconds * 1000, signal);
  } else if (typeof wait.Timestamp === 'string') {
    await clock.sleepUntil(new Date(wait.Timestamp), signal);
  } else if (typeof wait.SecondsPath === 'string') {
    const seconds = referencePath(input, wait.SecondsPath);
    if (typeof seconds !== 'number' || seconds < 0) throw statesRuntime(`SecondsPath ${wait.SecondsPath} is not a non-negative number`);
    await clock.sleep(seconds * 1000, signal);
  } else if (typeof wait.TimestampPath === 'string') {
    const timestamp = referencePath(input, wait.TimestampPath);
    if (typeof timestamp !== 'string' || !RFC3339.test(timestamp)) {
      throw statesRuntime(`TimestampPath ${wait.TimestampPath} is not an RFC 3339 timestamp with upper-case T and Z`);
    }
    await clock.sleepUntil(new Date(timestamp), signal);
  }
  return input;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An ASL reference path: `$`, `$.field`, `$.a.b[0]` (no filters, no wildcards). */
export function referencePath(input: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw statesRuntime(`${path} is not a reference path`);
  const steps = path.slice(1).match(/\.[^.[\]]+|\[\d+\]/g) ?? [];
  let value: unknown = input;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = step.startsWith('[') ? (value as unknown[])[Number(step.slice(1, -1))] : (value as Record<string, unknown>)[step.slice(1)];
  }
  return value;
}

function statesRuntime(message: string): Error {
  const error = new Error(message);
  error.name = 'States.Runtime';
  return error;
}
