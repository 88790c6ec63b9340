import { epochSeconds, type JsonObject } from '../protocol.ts';
import { page } from './request-validation.ts';

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  details: JsonObject;
}

/**
 * An execution's history in AWS's event vocabulary. Events are numbered from 1; each points at the
 * event before it, except, as AWS's recorded histories show, the first state entered (previous
 * event 0, not ExecutionStarted) and ExecutionAborted (0: it comes from outside the execution).
 * Input and output travel whole: inputDetails / outputDetails say `truncated: false`, which the
 * service model documents as "Always false for API calls".
 */
export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];

  started(at: Date, input: string, roleArn: string): void {
    this.record(at, 'ExecutionStarted', { executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn } });
  }

  stateEntered(at: Date, stateType: string, name: string, input: unknown): void {
    this.record(at, `${stateType}StateEntered`, { stateEnteredEventDetails: { name, input: JSON.stringify(input), inputDetails: { truncated: false } } });
  }

  stateExited(at: Date, stateType: string, name: string, output: unknown): void {
    this.record(at, `${stateType}StateExited`, { stateExitedEventDetails: { name, output: JSON.stringify(output), outputDetails: { truncated: false } } });
  }

  succeeded(at: Date, output: string): void {
    this.record(at, 'ExecutionSucceeded', { executionSucceededEventDetails: { output, outputDetails: { truncated: false } } });
  }

  /** ExecutionAborted carries only what StopExecution was given (an empty object when nothing was). */
  aborted(at: Date, error: string | undefined, cause: string | undefined): void {
    this.record(at, 'ExecutionAborted', {
      executionAbortedEventDetails: { ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) },
    });
  }

  record(at: Date, type: string, details: JsonObject = {}): void {
    const last = this.events.at(-1);
    const first = type.endsWith('StateEntered') && last?.type === 'ExecutionStarted';
    const previousEventId = first || type === 'ExecutionAborted' ? 0 : (last?.id ?? 0);
    this.events.push({ id: this.events.length + 1, previousEventId, timestamp: at, type, details });
  }

  /** GetExecutionHistory's answer: a page of events, oldest first unless reverseOrder. */
  page(request: JsonObject): JsonObject {
    const events = request.reverseOrder === true ? [...this.events].reverse() : this.events;
    const withData = request.includeExecutionData !== false;
    const { items, nextToken } = page(events, request);
    return {
      events: items.map((event) => ({
        id: event.id,
        previousEventId: event.previousEventId,
        timestamp: epochSeconds(event.timestamp),
        type: event.type,
        ...(withData ? event.details : withoutData(event.details)),
      })),
      ...(nextToken !== undefined ? { nextToken } : {}),
    };
  }
}

/** The details without their input and output, as includeExecutionData: false asks. */
function withoutData(details: JsonObject): JsonObject {
  return Object.fromEntries(
    Object.entries(details).map(([key, value]) => {
      if (value === null || typeof value !== 'object') return [key, value];
      const { input: _input, output: _output, ...rest } = value as JsonObject;
      return [key, rest];
    }),
  );
}

// RedriveExecution (API reference): an execution can be redriven unless it SUCCEEDED, for 14 days
// after it ended, within one year of open time, and below 24,999 history events.
const REDRIVABLE_PERIOD_MS = 14 * 86_400_000;
const MAX_OPEN_MS = 365 * 86_400_000;
const MAX_REDRIVABLE_EVENTS = 24_999;

/**
 * DescribeExecution's redrive fields. redriveStatusReason accompanies NOT_REDRIVABLE only, in the
 * words the API reference lists ("Execution is RUNNING and cannot be redriven", ...). Nothing here
 * is ever redriven: redriveCount stays 0 and redriveDate absent (null until a redrive).
 */
export function redriveFields(execution: { status: string; startDate: Date; stopDate?: Date; history: ExecutionHistory }, now: Date): JsonObject {
  const notRedrivable = (redriveStatusReason: string) => ({ redriveCount: 0, redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason });
  if (execution.status === 'RUNNING' || execution.status === 'SUCCEEDED') return notRedrivable(`Execution is ${execution.status} and cannot be redriven`);
  const stopDate = execution.stopDate ?? now;
  if (now.getTime() - stopDate.getTime() > REDRIVABLE_PERIOD_MS) return notRedrivable('Execution redrivable period exceeded');
  if (stopDate.getTime() - execution.startDate.getTime() > MAX_OPEN_MS) return notRedrivable('Execution has exceeded the max execution time');
  if (execution.history.events.length >= MAX_REDRIVABLE_EVENTS) return notRedrivable('Execution history event limit exceeded');
  return { redriveCount: 0, redriveStatus: 'REDRIVABLE' };
}
