import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.ts';
import { AwsServiceError, epochSeconds, type EventSink, type FaultInjector, type JsonObject, type JsonService, type RequestContext } from '../protocol.ts';
import { allStates, type Definition, type StateDefinition } from './definition.ts';
import { TaskTokens, takeTimeoutSeconds } from './task-tokens.ts';
import { executionStatusChangeEvent } from './execution-events.ts';
import { RetryBackoff, VIRTUAL_WAIT_RESOURCE, onVirtualTime, virtualWait } from './virtual-time.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  details: JsonObject;
}

interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
  abort: AbortController;
  done: Promise<void>;
}

interface RegisteredStateMachine {
  arn: string;
  name: string;
  type: 'STANDARD' | 'EXPRESS';
  definition: Definition;
  creationDate: Date;
}

export interface EmbeddedStepFunctionsOptions {
  clock: Clock & { timeScale?: number };
  /** Runs a Lambda function synchronously, as a Task state does; rejects with the function's error. */
  invokeFunction: (functionArn: string, payload: unknown) => Promise<unknown>;
  faults?: FaultInjector;
  /** Where `Step Functions Execution Status Change` events go (the default bus). */
  emit?: EventSink;
  /** SendMessage on the embedded SQS, for `arn:aws:states:::sqs:sendMessage` Tasks. */
  sendQueueMessage?: (input: JsonObject) => Promise<unknown>;
}

// Execution names (AWS StartExecution): 1 to 80 characters, none of whitespace, brackets,
// wildcards, or these specials: " # % \ ^ | ~ ` $ & , ; : /, nor control characters.
const NAME_RESERVATION_MS = 90 * 86_400_000;
const FORBIDDEN_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

/**
 * Step Functions, JSON 1.0 (`AWSStepFunctions`): state machines registered from serverless.yml,
 * executions run by aws-local-stepfunctions on the shared virtual clock, with AWS's naming and
 * idempotency rules and an execution history in AWS's event vocabulary.
 */
export class EmbeddedStepFunctions implements JsonService {
  readonly targetPrefix = 'AWSStepFunctions';
  private readonly stateMachines = new Map<string, RegisteredStateMachine>();
  private readonly executions = new Map<string, Execution>();
  private readonly clock: EmbeddedStepFunctionsOptions['clock'];
  private readonly invokeFunction: EmbeddedStepFunctionsOptions['invokeFunction'];
  private readonly faults: FaultInjector | undefined;
  private readonly emit: EventSink | undefined;
  private readonly sendQueueMessage: EmbeddedStepFunctionsOptions['sendQueueMessage'];
  private readonly tokens: TaskTokens;
  private closed = false;

  constructor(options: EmbeddedStepFunctionsOptions) {
    this.clock = options.clock;
    this.invokeFunction = options.invokeFunction;
    this.faults = options.faults;
    this.emit = options.emit;
    this.sendQueueMessage = options.sendQueueMessage;
    this.tokens = new TaskTokens(options.clock);
  }

  registerStateMachine(arn: string, definition: Definition, type: 'STANDARD' | 'EXPRESS' = 'STANDARD'): void {
    allStates(definition); // refuses duplicate state names, which the local runner cannot tell apart
    this.stateMachines.set(arn, { arn, name: arn.split(':').at(-1) ?? arn, type, definition, creationDate: this.clock.now() });
  }

  async handle(operation: string, input: JsonObject, context: RequestContext): Promise<JsonObject> {
    const injected = this.faults?.({ service: 'states', operation, input, region: context.region });
    if (injected) throw injected;
    switch (operation) {
      case 'StartExecution':
        return this.startExecution(input);
      case 'SendTaskSuccess':
        return this.tokens.succeed(input);
      case 'SendTaskFailure':
        return this.tokens.fail(input);
      case 'SendTaskHeartbeat':
        return this.tokens.heartbeat(input);
      case 'DescribeExecution':
        return this.describeExecution(this.execution(input.executionArn));
      case 'ListExecutions':
        return this.listExecutions(input);
      case 'StopExecution':
        return this.stopExecution(input);
      case 'GetExecutionHistory':
        return this.getExecutionHistory(input);
      case 'ListStateMachines':
        return {
          stateMachines: [...this.stateMachines.values()].map((machine) => ({
            stateMachineArn: machine.arn,
            name: machine.name,
            type: machine.type,
            creationDate: epochSeconds(machine.creationDate),
          })),
        };
      case 'DescribeStateMachine': {
        const machine = this.stateMachine(input.stateMachineArn);
        return {
          stateMachineArn: machine.arn,
          name: machine.name,
          status: 'ACTIVE',
          type: machine.type,
          definition: JSON.stringify(machine.definition),
          // No IAM here: the role is named, never assumed.
          roleArn: `arn:aws:iam::${context.accountId}:role/${machine.name}-role`,
          creationDate: epochSeconds(machine.creationDate),
        };
      }
      default:
        throw new AwsServiceError('UnknownOperationException', `the embedded Step Functions does not implement ${operation}`);
    }
  }

  /** True while an execution runs. */
  get busy(): boolean {
    return [...this.executions.values()].some((execution) => execution.status === 'RUNNING');
  }

  /** Resolves when every running execution has ended (tests and the main job wait on it). */
  async idle(): Promise<void> {
    await Promise.all([...this.executions.values()].map((execution) => execution.done));
  }

  executionsOf(stateMachineArn: string): { executionArn: string; name: string; status: ExecutionStatus }[] {
    return [...this.executions.values()]
      .filter((execution) => execution.stateMachineArn === stateMachineArn)
      .map(({ executionArn, name, status }) => ({ executionArn, name, status }));
  }

  close(): void {
    this.closed = true;
    for (const execution of this.executions.values()) execution.abort.abort();
  }

  private startExecution(request: JsonObject): JsonObject {
    const machine = this.stateMachine(request.stateMachineArn);
    const name = typeof request.name === 'string' ? request.name : randomUUID();
    if (name.length < 1 || name.length > 80 || FORBIDDEN_NAME.test(name)) {
      throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    }
    const input = typeof request.input === 'string' ? request.input : '{}';
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${input.slice(0, 100)}'`);
    }
    const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    // A closed execution's name is reserved for 90 days, then free again.
    const released = existing?.stopDate !== undefined && this.clock.now().getTime() - existing.stopDate.getTime() > NAME_RESERVATION_MS;
    if (existing && !released) {
      // A Standard workflow's StartExecution is idempotent only for a running execution with the
      // same name and input; any other use of the name is ExecutionAlreadyExists.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    // An execution is not the work of whoever started it: its waits belong to no request.
    const start = () => this.run(machine, executionArn, name, input, parsedInput);
    const execution = this.clock.activity ? this.clock.activity.detached(start) : start();
    return { executionArn, startDate: epochSeconds(execution.startDate) };
  }

  private run(machine: RegisteredStateMachine, executionArn: string, name: string, input: string, parsedInput: unknown): Execution {
    const { definition, waits, tasks, timeoutSeconds } = onVirtualTime(machine.definition, this.clock.timeScale ?? 1);
    const backoff = new RetryBackoff();
    const originalStates = allStates(machine.definition);
    const execution: Execution = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input,
      status: 'RUNNING',
      startDate: this.clock.now(),
      history: [],
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, execution);
    const record = (type: string, details: JsonObject = {}) => {
      const id = execution.history.length + 1;
      execution.history.push({ id, previousEventId: id - 1, timestamp: this.clock.now(), type, details });
    };
    record('ExecutionStarted', { executionStartedEventDetails: { input, inputDetails: { truncated: false } } });
    this.announce(execution);

    // The machine's TimeoutSeconds, on the virtual clock: the execution ends TIMED_OUT with
    // States.Timeout (Amazon States Language, "Top-level fields").
    const ended = new AbortController();
    if (timeoutSeconds !== undefined) {
      const timing = AbortSignal.any([execution.abort.signal, ended.signal]);
      void this.clock.sleep(timeoutSeconds * 1000, timing).then(() => {
        if (timing.aborted || execution.status !== 'RUNNING') return;
        execution.status = 'TIMED_OUT';
        execution.stopDate = this.clock.now();
        execution.error = 'States.Timeout';
        record('ExecutionTimedOut', { executionTimedOutEventDetails: { error: execution.error } });
        this.announce(execution);
        execution.abort.abort();
      });
    }

    const localHandlers: Record<string, (payload: unknown) => Promise<never>> = {};
    for (const [stateName, state] of allStates(definition)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      localHandlers[stateName] = async (payload) => {
        if (resource === VIRTUAL_WAIT_RESOURCE) {
          return (await virtualWait(waits.get(stateName) ?? state, payload, this.clock, execution.abort.signal)) as never;
        }
        const original = tasks.get(stateName) ?? state;
        try {
          const result = resource.endsWith('.waitForTaskToken')
            ? await this.waitForTaskToken(execution, resource, original, payload)
            : await withTimeout(this.invokeTask(resource, payload), original.TimeoutSeconds as number | undefined);
          backoff.succeeded(stateName, payload);
          return result as never;
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          const delay = backoff.delayBeforeRetry(original, stateName, payload, failure);
          if (delay !== undefined) await this.clock.sleep(delay, execution.abort.signal);
          throw failure;
        }
      };
    }

    const runner = new StateMachine(definition as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });
    const started = runner.run(parsedInput as never, {
      overrides: {
        taskResourceLocalHandlers: localHandlers,
        // Task backoff is slept on the virtual clock by the handler wrapper above.
        retryIntervalOverrides: Object.fromEntries([...tasks.keys()].map((name) => [name, 0])),
      },
      context: {
        Execution: { Id: executionArn, Name: name, Input: parsedInput as never, StartTime: execution.startDate.toISOString() },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    execution.abort.signal.addEventListener('abort', () => started.abort(), { once: true });

    const history = (async () => {
      for await (const event of started.eventLogs) {
        const original = 'state' in event ? originalStates.get(event.state.name) : undefined;
        const stateType = original?.Type ?? ('state' in event ? event.state.type : '');
        switch (event.type) {
          case 'StateEntered':
            record(`${stateType}StateEntered`, { stateEnteredEventDetails: { name: event.state.name, input: JSON.stringify(event.state.input) } });
            break;
          case 'StateExited':
            record(`${stateType}StateExited`, { stateExitedEventDetails: { name: event.state.name, output: JSON.stringify(event.state.output) } });
            break;
          case 'StateFailed':
            if (stateType === 'Task') record('TaskFailed', { taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: event.Error, cause: String(event.Cause ?? '') } });
            break;
          case 'StateRetried':
            record('StateRetried', { stateRetriedEventDetails: { name: event.state.name, retrier: event.retry.retrier.ErrorEquals.join(','), attempt: event.retry.attempt } });
            break;
          case 'MapIterationStarted':
          case 'MapIterationSucceeded':
          case 'MapIterationFailed':
            record(event.type, { mapIterationEventDetails: { name: event.parentState.name, index: event.index } });
            break;
          default:
            break;
        }
      }
    })().catch(() => undefined);

    execution.done = (async () => {
      try {
        const output = await started.result;
        // Stopped or timed out while its last state was finishing: that status stands.
        if (execution.status !== 'RUNNING') return;
        execution.output = JSON.stringify(output);
        execution.status = 'SUCCEEDED';
        execution.stopDate = this.clock.now();
        await history;
        record('ExecutionSucceeded', { executionSucceededEventDetails: { output: execution.output, outputDetails: { truncated: false } } });
        this.announce(execution);
      } catch (error) {
        await history;
        if (execution.status !== 'RUNNING') return;
        const failure = error instanceof ExecutionError ? (error.cause as Error) : (error as Error);
        execution.status = 'FAILED';
        execution.stopDate = this.clock.now();
        execution.error = failure?.name ?? 'States.Runtime';
        execution.cause = failure?.message ?? String(error);
        record('ExecutionFailed', { executionFailedEventDetails: { error: execution.error, cause: execution.cause } });
        this.announce(execution);
      } finally {
        execution.stopDate ??= this.clock.now();
        ended.abort();
      }
    })();
    return execution;
  }

  /**
   * Puts the execution's new status on the default bus. Only Standard workflows do; Express
   * workflows send no events to EventBridge (Step Functions Developer Guide).
   */
  private announce(execution: Execution): void {
    if (this.closed || this.stateMachines.get(execution.stateMachineArn)?.type !== 'STANDARD') return;
    this.emit?.(executionStatusChangeEvent(execution, execution.stopDate ?? execution.startDate));
  }

  /** A callback Task: hands its token over (an SQS message, a Lambda invocation) and waits for the answer. */
  private waitForTaskToken(execution: Execution, resource: string, state: StateDefinition, payload: unknown): Promise<unknown> {
    const { parameters, timeoutSeconds } = takeTimeoutSeconds(payload);
    const integration = resource.slice(0, -'.waitForTaskToken'.length);
    return this.tokens.wait({
      executionArn: execution.executionArn,
      parameters,
      timeoutSeconds: timeoutSeconds ?? (state.TimeoutSeconds as number | undefined),
      signal: execution.abort.signal,
      start: async (withToken) => {
        if (integration === 'arn:aws:states:::lambda:invoke') {
          const { FunctionName, Payload } = (withToken ?? {}) as { FunctionName?: string; Payload?: unknown };
          await this.invokeFunction(String(FunctionName), Payload);
          return;
        }
        if (integration === 'arn:aws:states:::sqs:sendMessage') {
          if (!this.sendQueueMessage) throw statesRuntime('the embedded Step Functions has no SQS to send to');
          const { MessageBody, ...message } = (withToken ?? {}) as Record<string, unknown>;
          try {
            await this.sendQueueMessage({ ...message, MessageBody: typeof MessageBody === 'string' ? MessageBody : JSON.stringify(MessageBody) });
          } catch (error) {
            // Step Functions names a service integration's error <Service>.<code>.
            const failure = new Error(error instanceof Error ? error.message : String(error));
            failure.name = `SQS.${error instanceof AwsServiceError ? error.code : 'SdkClientException'}`;
            throw failure;
          }
          return;
        }
        throw statesRuntime(`the embedded Step Functions cannot wait for a task token on ${resource}`);
      },
    });
  }

  private async invokeTask(resource: string, payload: unknown): Promise<unknown> {
    // Both forms of a Lambda task: the function ARN itself, or the optimised integration.
    if (resource.startsWith('arn:aws:states:::lambda:invoke')) {
      const { FunctionName, Payload } = (payload ?? {}) as { FunctionName?: string; Payload?: unknown };
      const result = await this.invokeFunction(String(FunctionName), Payload);
      return { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' };
    }
    if (resource.startsWith('arn:aws:lambda:')) return this.invokeFunction(resource, payload);
    const error = new Error(`the embedded Step Functions cannot run tasks on ${resource}`);
    error.name = 'States.Runtime';
    throw error;
  }

  private describeExecution(execution: Execution): JsonObject {
    return {
      ...summarise(execution),
      input: execution.input,
      inputDetails: { included: true },
      ...(execution.output !== undefined ? { output: execution.output, outputDetails: { included: true } } : {}),
      ...(execution.error !== undefined ? { error: execution.error, cause: execution.cause } : {}),
    };
  }

  private listExecutions(request: JsonObject): JsonObject {
    const machine = this.stateMachine(request.stateMachineArn);
    const filter = request.statusFilter;
    const all = [...this.executions.values()]
      .filter((execution) => execution.stateMachineArn === machine.arn && (!filter || execution.status === filter))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const start = typeof request.nextToken === 'string' ? Number(request.nextToken) : 0;
    const size = typeof request.maxResults === 'number' && request.maxResults > 0 ? request.maxResults : 100;
    const page = all.slice(start, start + size);
    return {
      executions: page.map(summarise),
      ...(start + size < all.length ? { nextToken: String(start + size) } : {}),
    };
  }

  private stopExecution(request: JsonObject): JsonObject {
    const execution = this.execution(request.executionArn);
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.stopDate = this.clock.now();
      execution.error = typeof request.error === 'string' ? request.error : undefined;
      execution.cause = typeof request.cause === 'string' ? request.cause : undefined;
      execution.history.push({
        id: execution.history.length + 1,
        previousEventId: execution.history.length,
        timestamp: execution.stopDate,
        type: 'ExecutionAborted',
        details: { executionAbortedEventDetails: { error: execution.error ?? '', cause: execution.cause ?? '' } },
      });
      // Nothing in a stopped execution runs afterwards: this event is the only news of it.
      this.announce(execution);
      execution.abort.abort();
    }
    return { stopDate: epochSeconds(execution.stopDate ?? this.clock.now()) };
  }

  private getExecutionHistory(request: JsonObject): JsonObject {
    const execution = this.execution(request.executionArn);
    const events = request.reverseOrder === true ? [...execution.history].reverse() : execution.history;
    const start = typeof request.nextToken === 'string' ? Number(request.nextToken) : 0;
    const size = typeof request.maxResults === 'number' && request.maxResults > 0 ? request.maxResults : 1000;
    return {
      events: events.slice(start, start + size).map((event) => ({
        id: event.id,
        previousEventId: event.previousEventId,
        timestamp: epochSeconds(event.timestamp),
        type: event.type,
        ...event.details,
      })),
      ...(start + size < events.length ? { nextToken: String(start + size) } : {}),
    };
  }

  private stateMachine(arn: unknown): RegisteredStateMachine {
    const machine = typeof arn === 'string' ? this.stateMachines.get(arn) : undefined;
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
    return machine;
  }

  private execution(arn: unknown): Execution {
    const execution = typeof arn === 'string' ? this.executions.get(arn) : undefined;
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return execution;
  }
}

function summarise(execution: Execution): JsonObject {
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: epochSeconds(execution.startDate),
    ...(execution.stopDate ? { stopDate: epochSeconds(execution.stopDate) } : {}),
  };
}

function statesRuntime(message: string): Error {
  const error = new Error(message);
  error.name = 'States.Runtime';
  return error;
}

/** A Task's TimeoutSeconds, on the real clock: the handler's work takes real time. */
async function withTimeout<T>(work: Promise<T>, timeoutSeconds: number | undefined): Promise<T> {
  if (!timeoutSeconds) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`the task did not finish within ${timeoutSeconds} seconds`);
      error.name = 'States.Timeout';
      reject(error);
    }, timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
