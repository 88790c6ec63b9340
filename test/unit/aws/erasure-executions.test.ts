import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  InvalidToken,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { erasureExecutions, executionArnOf, isTaskGone, taskCallbacks } from '../../../functions/lib/aws/erasure-executions.ts';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:erasure';
const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:erasure:erasure-15e9c06633a006c8f7612e17ec3e379d';
const metadata = { $metadata: {} };
// Restored after the file: the mutation run shares modules, and SFNClient's prototype, between files.
let sfn: AwsClientStub<SFNClient>;
beforeAll(() => {
  sfn = mockClient(SFNClient);
});
afterAll(() => sfn.restore());

describe('erasure executions', () => {
  afterEach(() => sfn.reset());
  const executions = () => erasureExecutions(new SFNClient({ region: 'eu-west-1' }), STATE_MACHINE);

  it("names an execution's ARN after its state machine's", () => {
    expect(executionArnOf(STATE_MACHINE, 'erasure-15e9c06633a006c8f7612e17ec3e379d')).toBe(EXECUTION);
  });

  it('starts the erasure under its name and input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    await expect(executions().start('erasure-15e9c06633a006c8f7612e17ec3e379d', '{"subjectId":"user-4821"}')).resolves.toEqual({ started: true, executionArn: EXECUTION });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({ stateMachineArn: STATE_MACHINE, name: 'erasure-15e9c06633a006c8f7612e17ec3e379d', input: '{"subjectId":"user-4821"}' });
  });

  it('finds the erasure a redelivered closure already started, instead of failing it', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', ...metadata }));
    await expect(executions().start('erasure-15e9c06633a006c8f7612e17ec3e379d', '{}')).resolves.toEqual({ started: false, executionArn: EXECUTION });
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    await expect(executions().start('erasure-15e9c06633a006c8f7612e17ec3e379d', '{}')).resolves.toEqual({ started: false, executionArn: EXECUTION });
  });

  it('lets any other failure to start reach the caller', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(executions().start('erasure-15e9c06633a006c8f7612e17ec3e379d', '{}')).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it("reads an erasure's status, running while Step Functions names none", async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED' });
    await expect(executions().status(EXECUTION)).resolves.toBe('FAILED');
    sfn.on(DescribeExecutionCommand).resolves({});
    await expect(executions().status(EXECUTION)).resolves.toBe('RUNNING');
  });
});

describe('task callbacks', () => {
  afterEach(() => sfn.reset());
  const callbacks = () => taskCallbacks(new SFNClient({ region: 'eu-west-1' }));

  it('answers a waiting task with its output as JSON', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await callbacks().succeed('token-1', { wokenBy: 'KeysDeleted' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({ taskToken: 'token-1', output: '{"wokenBy":"KeysDeleted"}' });
  });

  it("fails a waiting task within Step Functions' limits on error and cause", async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await callbacks().fail('token-1', 'E'.repeat(300), 'c'.repeat(40_000));
    const input = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(input).toEqual({ taskToken: 'token-1', error: 'E'.repeat(256), cause: 'c'.repeat(32_768) });
  });

  it('tells a task still waiting from one that timed out, was stopped or already answered', async () => {
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    await expect(callbacks().stillWaiting('token-1')).resolves.toBe(true);
    for (const gone of [new TaskTimedOut({ message: 'timed out', ...metadata }), new TaskDoesNotExist({ message: 'gone', ...metadata }), new InvalidToken({ message: 'bad', ...metadata })]) {
      sfn.on(SendTaskHeartbeatCommand).rejects(gone);
      await expect(callbacks().stillWaiting('token-1')).resolves.toBe(false);
      expect(isTaskGone(gone)).toBe(true);
    }
  });

  it('lets a failure to reach Step Functions reach the caller, not read as a task gone', async () => {
    sfn.on(SendTaskHeartbeatCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(callbacks().stillWaiting('token-1')).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(isTaskGone(undefined)).toBe(false);
    expect(isTaskGone(new Error('TaskTimedOut'))).toBe(false);
  });
});
