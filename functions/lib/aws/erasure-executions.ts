import { DescribeExecutionCommand, ExecutionAlreadyExists, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export type StartResult = { started: true; executionArn: string } | { started: false; executionArn: string };

/** The Step Functions calls intake makes: start an erasure by name, and read an existing one's status. */
export interface ErasureExecutions {
  start(name: string, input: string): Promise<StartResult>;
  status(executionArn: string): Promise<ExecutionStatus>;
}

export function erasureExecutions(sfn: SFNClient, stateMachineArn: string): ErasureExecutions {
  return {
    async start(name, input) {
      const executionArn = executionArnOf(stateMachineArn, name);
      try {
        // Idempotent for a Standard workflow while an execution with this name and input runs.
        const response = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
        return { started: true, executionArn: response.executionArn ?? executionArn };
      } catch (error) {
        if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
          return { started: false, executionArn };
        }
        throw error;
      }
    },

    async status(executionArn) {
      const response = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return (response.status ?? 'RUNNING') as ExecutionStatus;
    },
  };
}

/** arn:aws:states:<region>:<account>:stateMachine:<name> → arn:aws:states:<region>:<account>:execution:<name>:<execution> */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

/** The answers a callback Task (`.waitForTaskToken`) waits for. */
export interface TaskCallbacks {
  succeed(taskToken: string, output: unknown): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
  /** False once the Task no longer waits (its execution was stopped, or it timed out). */
  stillWaiting(taskToken: string): Promise<boolean>;
}

const TASK_GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** True for Step Functions' answer that a task token no longer waits (answered, timed out, stopped). */
export function isTaskGone(error: unknown): boolean {
  return TASK_GONE.has((error as Error | undefined)?.name ?? '');
}

export function taskCallbacks(sfn: SFNClient): TaskCallbacks {
  return {
    async succeed(taskToken, output) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
    async fail(taskToken, error, cause) {
      // Step Functions caps error at 256 characters and cause at 32,768.
      await sfn.send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }));
    },
    async stillWaiting(taskToken) {
      try {
        await sfn.send(new SendTaskHeartbeatCommand({ taskToken }));
        return true;
      } catch (error) {
        if (isTaskGone(error)) return false;
        throw error;
      }
    },
  };
}
