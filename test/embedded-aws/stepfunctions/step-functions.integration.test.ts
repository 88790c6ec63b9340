import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { LambdaFunctionError } from '../../../embedded-aws/lambda/local-functions.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedStepFunctions } from '../../../embedded-aws/stepfunctions/embedded-step-functions.ts';

const MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:contract';
const FUNCTION = 'arn:aws:lambda:eu-west-1:111122223333:function:contract-task';
const DAY = 86_400_000;

const waitThenWork = {
  StartAt: 'WaitUntilDue',
  States: {
    WaitUntilDue: { Type: 'Wait', Comment: 'wait', TimestampPath: '$.due', Next: 'Work' },
    Work: {
      Type: 'Task',
      Comment: 'work',
      Resource: FUNCTION,
      Retry: [{ ErrorEquals: ['ThrottlingException'], IntervalSeconds: 3600, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: 'FULL' }],
      End: true,
    },
  },
};

let clock: VirtualClock;
let server: EmbeddedAwsServer;
let stepFunctions: EmbeddedStepFunctions;
let sfn: SFNClient;
let calls: unknown[];
let failures: Error[];

beforeEach(async () => {
  clock = new VirtualClock({ timeScale: 1, start: new Date('2026-11-22T00:00:00Z') });
  calls = [];
  failures = [];
  stepFunctions = new EmbeddedStepFunctions({
    clock,
    invokeFunction: async (_arn, payload) => {
      calls.push(payload);
      const failure = failures.shift();
      if (failure) throw failure;
      return { worked: true };
    },
  });
  stepFunctions.registerStateMachine(MACHINE, waitThenWork);
  server = new EmbeddedAwsServer({ port: 0, defaultRegion: 'eu-west-1', accountId: '111122223333', jsonServices: [stepFunctions], queryServices: [] });
  sfn = new SFNClient({ endpoint: await server.listen(), region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
});
afterEach(async () => {
  stepFunctions.close();
  await server.close();
});

const dueIn = (ms: number) => JSON.stringify({ due: new Date(clock.now().getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z') });

describe('StartExecution', () => {
  it('is idempotent for a running execution with the same name and input', async () => {
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'same', input: dueIn(DAY) }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'same', input: dueIn(DAY) }));
    expect(again.executionArn).toBe(first.executionArn);
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE }))).executions).toHaveLength(1);
  });

  it('answers ExecutionAlreadyExists for the same name with another input', async () => {
    await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'taken', input: dueIn(DAY) }));
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'taken', input: dueIn(2 * DAY) }))).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
  });

  it('answers ExecutionAlreadyExists for the name of a closed execution, even with the same input', async () => {
    const input = dueIn(0);
    await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'closed', input }));
    await stepFunctions.idle();
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'closed', input }))).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('frees the name of a closed execution after 90 days', async () => {
    const input = dueIn(0);
    await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'reused', input }));
    await stepFunctions.idle();
    clock.advance(89 * DAY);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'reused', input }))).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    clock.advance(2 * DAY);
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'reused', input: dueIn(0) }));
    await stepFunctions.idle();
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: again.executionArn }))).status).toBe('SUCCEEDED');
  });

  it.each(['has space', 'a'.repeat(81), 'slash/name', ''])('refuses the name %j', async (name) => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name, input: '{}' }))).rejects.toMatchObject({
      name: expect.stringMatching(/InvalidName|ValidationException/),
    });
  });

  it('refuses input that is not JSON', async () => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'bad-input', input: '{nope' }))).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });

  it('refuses an unknown state machine', async () => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `${MACHINE}-missing`, input: '{}' }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});

describe('an execution on the virtual clock', () => {
  it('waits until its TimestampPath on the virtual clock, not the real one', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'waits', input: dueIn(30 * DAY) }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    expect(calls).toHaveLength(0);

    clock.advance(30 * DAY);
    await stepFunctions.idle();
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ worked: true }) });
    expect(described.stopDate!.getTime() - described.startDate!.getTime()).toBeGreaterThanOrEqual(30 * DAY);
  });

  it('backs off retries on the virtual clock', async () => {
    failures.push(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'retries', input: dueIn(0) }));
    await vi.waitFor(() => expect(calls).toHaveLength(1), { timeout: 5_000 });
    clock.advance(3600_000);
    await stepFunctions.idle();
    expect(calls).toHaveLength(2);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('SUCCEEDED');
  });

  it("fails with the task's error name and Lambda's JSON cause", async () => {
    failures.push(new LambdaFunctionError('KeyNotOwnedBySubject', 'not theirs', []));
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'fails', input: dueIn(0) }));
    await stepFunctions.idle();
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'FAILED', error: 'KeyNotOwnedBySubject' });
    expect(JSON.parse(described.cause ?? '{}')).toMatchObject({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'not theirs' });
  });

  it('stops on StopExecution and reports ABORTED', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'stopped', input: dueIn(30 * DAY) }));
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'LegalHold', cause: 'hold requested' }));
    await stepFunctions.idle();
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ status: 'ABORTED' });
    expect(calls).toHaveLength(0);
  });

  it('keeps a history in AWS event types, Wait states named as Waits', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name: 'history', input: dueIn(0) }));
    await stepFunctions.idle();
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'WaitStateEntered',
      'WaitStateExited',
      'TaskStateEntered',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[1]?.stateEnteredEventDetails?.name).toBe('WaitUntilDue');
  });
});
