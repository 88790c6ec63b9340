import type { Clock } from '../clock.ts';
import type { Definition, StateDefinition } from './definition.ts';

/**
 * aws-local-stepfunctions waits and backs off on the real clock (setTimeout, Date.now). To put
 * Wait states and retries on the embedded AWS's one virtual clock, the definition it runs is
 * rewritten: every Wait becomes a Task answered by `virtualWait`, which sleeps on the virtual clock
 * and passes its input through, as a Wait does; retry intervals are divided by the time scale, so
 * the runner's own backoff, jitter and cap play out in the same virtual time.
 */
export const VIRTUAL_WAIT_RESOURCE = 'arn:aws:states:::embedded:wait';

// The runner arms one real setTimeout per Task timeout; Node caps timers at 2^31-1 ms.
const WAIT_TASK_TIMEOUT_SECONDS = 2_000_000;

export function onVirtualTime(definition: Definition, timeScale: number): { definition: Definition; waits: Map<string, StateDefinition> } {
  const waits = new Map<string, StateDefinition>();
  const rewrite = (machine: Definition): Definition => ({
    ...machine,
    States: Object.fromEntries(
      Object.entries(machine.States).map(([name, state]) => {
        if (state.Type === 'Wait') {
          waits.set(name, state);
          const { Seconds: _s, Timestamp: _t, SecondsPath: _sp, TimestampPath: _tp, ...rest } = state;
          return [name, { ...rest, Type: 'Task', Resource: VIRTUAL_WAIT_RESOURCE, TimeoutSeconds: WAIT_TASK_TIMEOUT_SECONDS }];
        }
        const rewritten: StateDefinition = { ...state };
        if (Array.isArray(state.Retry)) {
          rewritten.Retry = (state.Retry as Record<string, unknown>[]).map((retrier) => ({
            ...retrier,
            IntervalSeconds: ((retrier.IntervalSeconds as number | undefined) ?? 1) / timeScale,
            ...(retrier.MaxDelaySeconds !== undefined ? { MaxDelaySeconds: (retrier.MaxDelaySeconds as number) / timeScale } : {}),
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
  return { definition: rewrite(definition), waits };
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
