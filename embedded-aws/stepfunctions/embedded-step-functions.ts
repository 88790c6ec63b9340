import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { AwsServiceError, epochSeconds, type EventSink, type FaultInjector, type JsonObject, type JsonService, type RequestContext } from '../protocol.ts';
import { allStates, type Definition, type StateDefinition } from './definition.ts';
import { TaskTokens, takeTimeoutSeconds } from './task-tokens.ts';
import { executionStatusChangeEvent } from './execution-events.ts';
import { ExecutionHistory, redriveFields } from './execution-history.ts';
import { executionFailure, startLocalRun, type TaskHandler } from './local-runner.ts';
import { page, pageSize, statesArn, statusFilter, validationError } from './request-validation.ts';
import { FORBIDDEN_NAME, StateMachines, type RegisteredStateMachine, type StateMachineType } from './state-machines.ts';
import { handOverToken, invokeTask, withTimeout, type TaskIntegrations } from './task-integrations.ts';
import { RetryBackoff, VIRTUAL_WAIT_RESOURCE, onVirtualTime, virtualWait, type VirtualTimePlan } from './virtual-time.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

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
  /** The type of the state machine it runs, kept should the machine be deleted while it runs. */
  type: StateMachineType;
  history: ExecutionHistory;
  abort: AbortController;
  done: Promise<void>;
}

export interface EmbeddedStepFunctionsOptions extends TaskIntegrations {
  clock: Clock & { timeScale?: number };
  faults?: FaultInjector;
  /** Where `Step Functions Execution Status Change` events go (the default bus). */
  emit?: EventSink;
}

// A closed execution's name stays reserved for 90 days (StartExecution, API reference).
const NAME_RESERVATION_MS = 90 * 86_400_000;

/**
 * Step Functions, JSON 1.0 (`AWSStepFunctions`): state machines registered from serverless.yml or
 * created through the API, executions run by aws-local-stepfunctions on the shared virtual clock,
 * with AWS's naming, idempotency and validation rules and an execution history in AWS's event
 * vocabulary.
 */
export class EmbeddedStepFunctions implements JsonService {
  readonly targetPrefix = 'AWSStepFunctions';
  private readonly stateMachines: StateMachines;
  private readonly executions = new Map<string, Execution>();
  private readonly clock: EmbeddedStepFunctionsOptions['clock'];
  private readonly integrations: TaskIntegrations;
  private readonly faults: FaultInjector | undefined;
  private readonly emit: EventSink | undefined;
  private readonly tokens: TaskTokens;
  private closed = false;

  constructor(options: EmbeddedStepFunctionsOptions) {
    this.clock = options.clock;
    this.integrations = { invokeFunction: options.invokeFunction, sendQueueMessage: options.sendQueueMessage };
    this.faults = options.faults;
    this.emit = options.emit;
    this.tokens = new TaskTokens(options.clock);
    this.stateMachines = new StateMachines(options.clock);
  }

  /** A state machine serverless.yml deploys. */
  registerStateMachine(arn: string, definition: Definition, type: StateMachineType = 'STANDARD'): void {
    this.stateMachines.register(arn, definition, type);
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
        return this.describeExecution(this.execution(input));
      case 'ListExecutions':
        return this.listExecutions(input);
      case 'StopExecution':
        return this.stopExecution(input);
      case 'GetExecutionHistory':
        // The model's constraints are checked before anything is looked up.
        pageSize(input);
        return this.execution(input).history.page(input);
      case 'CreateStateMachine':
        return this.stateMachines.create(input, context);
      case 'UpdateStateMachine':
        return this.stateMachines.update(input);
      case 'DeleteStateMachine':
        return this.stateMachines.delete(input);
      case 'DescribeStateMachine':
        return this.stateMachines.describe(input);
      case 'ListStateMachines':
        return this.stateMachines.list(input);
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
    const machine = this.stateMachines.get(request);
    const name = typeof request.name === 'string' ? request.name : randomUUID();
    // Name is 1 to 80 characters in the service model: a longer one breaks the model's constraint.
    if (name.length > 80) throw validationError('name', name, 'Member must have length less than or equal to 80');
    if (name.length < 1 || FORBIDDEN_NAME.test(name)) {
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
    const plan = onVirtualTime(machine.definition, this.clock.timeScale ?? 1);
    const originalStates = allStates(machine.definition);
    const execution: Execution = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input,
      status: 'RUNNING',
      startDate: this.clock.now(),
      type: machine.type,
      history: new ExecutionHistory(),
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, execution);
    const history = execution.history;
    history.started(this.clock.now(), input, machine.roleArn);
    this.announce(execution);

    // The machine's TimeoutSeconds, on the virtual clock: the execution ends TIMED_OUT with
    // States.Timeout (Amazon States Language, "Top-level fields").
    const ended = new AbortController();
    if (plan.timeoutSeconds !== undefined) {
      const timing = AbortSignal.any([execution.abort.signal, ended.signal]);
      void this.clock.sleep(plan.timeoutSeconds * 1000, timing).then(() => {
        if (timing.aborted || execution.status !== 'RUNNING') return;
        execution.status = 'TIMED_OUT';
        execution.stopDate = this.clock.now();
        execution.error = 'States.Timeout';
        history.record(this.clock.now(), 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: execution.error } });
        this.announce(execution);
        execution.abort.abort();
      });
    }

    const started = startLocalRun(plan, parsedInput, {
      handlers: this.taskHandlers(execution, plan),
      context: {
        Execution: { Id: executionArn, Name: name, Input: parsedInput as never, StartTime: execution.startDate.toISOString() },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    execution.abort.signal.addEventListener('abort', () => started.abort(), { once: true });

    const recorded = (async () => {
      for await (const event of started.eventLogs) {
        const at = this.clock.now();
        const original = 'state' in event ? originalStates.get(event.state.name) : undefined;
        const stateType = original?.Type ?? ('state' in event ? event.state.type : '');
        switch (event.type) {
          case 'StateEntered':
            history.stateEntered(at, stateType, event.state.name, event.state.input);
            break;
          case 'StateExited':
            history.stateExited(at, stateType, event.state.name, event.state.output);
            break;
          case 'StateFailed':
            if (stateType === 'Task') history.record(at, 'TaskFailed', { taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: event.Error, cause: String(event.Cause ?? '') } });
            break;
          case 'StateRetried':
            history.record(at, 'StateRetried', { stateRetriedEventDetails: { name: event.state.name, retrier: event.retry.retrier.ErrorEquals.join(','), attempt: event.retry.attempt } });
            break;
          case 'MapIterationStarted':
          case 'MapIterationSucceeded':
          case 'MapIterationFailed':
            // Each Map iteration event has its own details member (HistoryEvent, service model).
            history.record(at, event.type, { [`${event.type[0]!.toLowerCase()}${event.type.slice(1)}EventDetails`]: { name: event.parentState.name, index: event.index } });
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
        await recorded;
        history.succeeded(this.clock.now(), execution.output);
        this.announce(execution);
      } catch (error) {
        await recorded;
        if (execution.status !== 'RUNNING') return;
        const failure = executionFailure(error) ?? (error as Error);
        execution.status = 'FAILED';
        execution.stopDate = this.clock.now();
        execution.error = failure?.name ?? 'States.Runtime';
        execution.cause = failure?.message ?? String(error);
        history.record(this.clock.now(), 'ExecutionFailed', { executionFailedEventDetails: { error: execution.error, cause: execution.cause } });
        this.announce(execution);
      } finally {
        execution.stopDate ??= this.clock.now();
        ended.abort();
      }
    })();
    return execution;
  }

  /**
   * What each Task of the planned definition does: a rewritten Wait sleeps on the virtual clock; a
   * Task calls its Lambda function or integration, and backs off on the virtual clock before the
   * runner retries it.
   */
  private taskHandlers(execution: Execution, plan: VirtualTimePlan): Record<string, TaskHandler> {
    const backoff = new RetryBackoff();
    const handlers: Record<string, TaskHandler> = {};
    for (const [stateName, state] of allStates(plan.definition)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      handlers[stateName] = async (payload) => {
        if (resource === VIRTUAL_WAIT_RESOURCE) return virtualWait(plan.waits.get(stateName) ?? state, payload, this.clock, execution.abort.signal);
        const original = plan.tasks.get(stateName) ?? state;
        try {
          const result = resource.endsWith('.waitForTaskToken')
            ? await this.waitForTaskToken(execution, resource, original, payload)
            : await withTimeout(invokeTask(this.integrations, resource, payload), original.TimeoutSeconds as number | undefined);
          backoff.succeeded(stateName, payload);
          return result;
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          const delay = backoff.delayBeforeRetry(original, stateName, payload, failure);
          if (delay !== undefined) await this.clock.sleep(delay, execution.abort.signal);
          throw failure;
        }
      };
    }
    return handlers;
  }

  /**
   * Puts the execution's new status on the default bus. Only Standard workflows do; Express
   * workflows send no events to EventBridge (Step Functions Developer Guide).
   */
  private announce(execution: Execution): void {
    if (this.closed || execution.type !== 'STANDARD') return;
    this.emit?.(executionStatusChangeEvent(execution, execution.stopDate ?? execution.startDate));
  }

  /** A callback Task: hands its token over (an SQS message, a Lambda invocation) and waits for the answer. */
  private waitForTaskToken(execution: Execution, resource: string, state: StateDefinition, payload: unknown): Promise<unknown> {
    const { parameters, timeoutSeconds } = takeTimeoutSeconds(payload);
    return this.tokens.wait({
      executionArn: execution.executionArn,
      parameters,
      timeoutSeconds: timeoutSeconds ?? (state.TimeoutSeconds as number | undefined),
      signal: execution.abort.signal,
      start: (withToken) => handOverToken(this.integrations, resource, withToken),
    });
  }

  private describeExecution(execution: Execution): JsonObject {
    return {
      ...summarise(execution),
      input: execution.input,
      inputDetails: { included: true },
      ...(execution.output !== undefined ? { output: execution.output, outputDetails: { included: true } } : {}),
      ...(execution.error !== undefined ? { error: execution.error, cause: execution.cause } : {}),
      ...redriveFields(execution, this.clock.now()),
    };
  }

  private listExecutions(request: JsonObject): JsonObject {
    pageSize(request);
    const filter = statusFilter(request);
    const machine = this.stateMachines.get(request);
    const all = [...this.executions.values()]
      .filter((execution) => execution.stateMachineArn === machine.arn && (!filter || execution.status === filter))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const { items, nextToken } = page(all, request);
    return { executions: items.map(summarise), ...(nextToken !== undefined ? { nextToken } : {}) };
  }

  private stopExecution(request: JsonObject): JsonObject {
    const execution = this.execution(request);
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.stopDate = this.clock.now();
      execution.error = typeof request.error === 'string' ? request.error : undefined;
      execution.cause = typeof request.cause === 'string' ? request.cause : undefined;
      execution.history.aborted(execution.stopDate, execution.error, execution.cause);
      // Nothing in a stopped execution runs afterwards: this event is the only news of it.
      this.announce(execution);
      execution.abort.abort();
    }
    return { stopDate: epochSeconds(execution.stopDate ?? this.clock.now()) };
  }

  private execution(request: JsonObject): Execution {
    const arn = statesArn(request, 'executionArn', 'execution');
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
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
