import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
  type ExecutionStatus,
} from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedStepFunctions } from '../../../embedded-aws/stepfunctions/embedded-step-functions.ts';
import { refusalOf } from '../../support/refusal.ts';

// Sources cited below:
// [recorded] localstack/localstack tests/aws/services/stepfunctions/v2/test_sfn_api.snapshot.json and
//   services/test_lambda_task_service.snapshot.json: answers recorded against AWS (status codes,
//   messages, history events).
// [model] the SFN service model (botocore stepfunctions/2016-11-23/service-2.json; the
//   documentation inside node_modules/@aws-sdk/client-sfn).
// [reference] the Step Functions API reference (DescribeExecution, RedriveExecution, ListExecutions).
const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const DEPLOYED = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:deployed`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/tryout-role`;
const DAY = 86_400_000;

const passThrough = { StartAt: 'Greet', States: { Greet: { Type: 'Pass', Comment: 'greet', Result: { greeting: 'hello' }, End: true } } };
const waitAnHour = { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Comment: 'hold', Seconds: 3600, End: true } } };

let clock: VirtualClock;
let server: EmbeddedAwsServer;
let stepFunctions: EmbeddedStepFunctions;
let sfn: SFNClient;

beforeEach(async () => {
  clock = new VirtualClock({ timeScale: 1, start: new Date('2026-11-22T00:00:00Z') });
  stepFunctions = new EmbeddedStepFunctions({ clock, invokeFunction: async () => ({}) });
  stepFunctions.registerStateMachine(DEPLOYED, waitAnHour);
  server = new EmbeddedAwsServer({ port: 0, defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [stepFunctions], queryServices: [] });
  sfn = new SFNClient({ endpoint: await server.listen(), region: REGION, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
});
afterEach(async () => {
  stepFunctions.close();
  await server.close();
});


async function createMachine(name: string, definition: unknown = passThrough): Promise<string> {
  const { stateMachineArn } = await sfn.send(new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: ROLE }));
  return stateMachineArn!;
}

async function finishedExecution(stateMachineArn: string, name: string): Promise<string> {
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"subject":"s-1"}' }));
  await stepFunctions.idle();
  return executionArn!;
}

describe('execution history, as AWS records it', () => {
  it('names the role and marks the input untruncated on ExecutionStarted', async () => {
    // [recorded] test_start_execution: executionStartedEventDetails {input, inputDetails {truncated: false}, roleArn}.
    const executionArn = await finishedExecution(await createMachine('history-started'), 'started');
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted', id: 1, previousEventId: 0 });
    expect(events[0]?.executionStartedEventDetails).toEqual({ input: '{"subject":"s-1"}', inputDetails: { truncated: false }, roleArn: ROLE });
  });

  it('points each event at the one before it, the first state entered at none', async () => {
    // [recorded] test_start_execution: ids 1..4 with previousEventId 0, 0, 2, 3.
    const executionArn = await finishedExecution(await createMachine('history-chain'), 'chain');
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events.map(({ type, id, previousEventId }) => [type, id, previousEventId])).toEqual([
      ['ExecutionStarted', 1, 0],
      ['PassStateEntered', 2, 0],
      ['PassStateExited', 3, 2],
      ['ExecutionSucceeded', 4, 3],
    ]);
  });

  it('marks state input and output, and the execution output, untruncated', async () => {
    // [recorded] test_start_execution; [model] HistoryEventExecutionDataDetails.truncated: "Always false for API calls".
    const executionArn = await finishedExecution(await createMachine('history-details'), 'details');
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events[1]?.stateEnteredEventDetails).toEqual({ name: 'Greet', input: '{"subject":"s-1"}', inputDetails: { truncated: false } });
    expect(events[2]?.stateExitedEventDetails).toEqual({ name: 'Greet', output: '{"greeting":"hello"}', outputDetails: { truncated: false } });
    expect(events[3]?.executionSucceededEventDetails).toEqual({ output: '{"greeting":"hello"}', outputDetails: { truncated: false } });
  });

  it('records a stop with no error or cause as an empty ExecutionAborted pointing at no event', async () => {
    // [recorded] test_stop_execution: {executionAbortedEventDetails: {}, id: 3, previousEventId: 0}.
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: DEPLOYED, name: 'stopped' }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sfn.send(new StopExecutionCommand({ executionArn }));
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionAborted', previousEventId: 0, executionAbortedEventDetails: {} });
    expect(Object.keys(events.at(-1)?.executionAbortedEventDetails ?? {})).toEqual([]);
  });
});

describe('DescribeExecution redrive fields', () => {
  it('says a running execution cannot be redriven', async () => {
    // [reference] DescribeExecution, redriveStatusReason: "Execution is RUNNING and cannot be redriven"; redriveCount 0 before any redrive.
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: DEPLOYED, name: 'running' }));
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({
      status: 'RUNNING',
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is RUNNING and cannot be redriven',
    });
  });

  it('says a succeeded execution cannot be redriven', async () => {
    // [reference] DescribeExecution, redriveStatusReason: "Execution is SUCCEEDED and cannot be redriven".
    const executionArn = await finishedExecution(await createMachine('redrive-succeeded'), 'succeeded');
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({
      status: 'SUCCEEDED',
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
    });
  });

  it('calls a stopped execution redrivable, without a reason, for 14 days', async () => {
    // [reference] RedriveExecution: executions that did not succeed can be redriven within 14 days of ending;
    // DescribeExecution gives redriveStatusReason only with NOT_REDRIVABLE.
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: DEPLOYED, name: 'aborted' }));
    await sfn.send(new StopExecutionCommand({ executionArn }));
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'ABORTED', redriveCount: 0, redriveStatus: 'REDRIVABLE' });
    expect(described.redriveStatusReason).toBeUndefined();
  });

  it('says a stopped execution cannot be redriven once its 14 days are over', async () => {
    // [reference] DescribeExecution, redriveStatusReason: "Execution redrivable period exceeded".
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: DEPLOYED, name: 'aborted-long-ago' }));
    await sfn.send(new StopExecutionCommand({ executionArn }));
    clock.advance(15 * DAY);
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution redrivable period exceeded',
    });
  });
});

describe('malformed ARNs', () => {
  it('answers InvalidArn for a string that is no ARN', async () => {
    // Observed on AWS: list_executions(stateMachineArn="abc") -> "Invalid Arn: 'Invalid ARN prefix: abc'"
    // (lmmx/botodto README.md); the same wording for DescribeExecution given an undecoded ARN.
    expect(await refusalOf(sfn.send(new ListExecutionsCommand({ stateMachineArn: 'abc' })))).toEqual({
      name: 'InvalidArn',
      status: 400,
      message: "Invalid Arn: 'Invalid ARN prefix: abc'",
    });
  });

  it('answers InvalidArn for an execution named by something else', async () => {
    expect(await refusalOf(sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' })))).toEqual({
      name: 'InvalidArn',
      status: 400,
      message: "Invalid Arn: 'Invalid ARN prefix: not-an-arn'",
    });
  });

  it('answers InvalidArn naming the resource type when an execution ARN is given for a state machine', async () => {
    // Observed on AWS (a test in an AWS Landing Zone solution): StartExecution with an execution ARN ->
    // "Invalid Arn: 'Resource type not valid in this context: execution'".
    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:deployed:one`;
    expect(await refusalOf(sfn.send(new StartExecutionCommand({ stateMachineArn })))).toEqual({
      name: 'InvalidArn',
      status: 400,
      message: "Invalid Arn: 'Resource type not valid in this context: execution'",
    });
  });
});

describe('request validation', () => {
  it('refuses a page size over 1000', async () => {
    // [model] PageSize @range(min 0, max 1000); the AWS framework's ValidationException wording.
    expect(await refusalOf(sfn.send(new ListExecutionsCommand({ stateMachineArn: DEPLOYED, maxResults: 1001 })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    });
  });

  it('refuses a negative page size', async () => {
    // [model] PageSize min 0.
    expect(await refusalOf(sfn.send(new GetExecutionHistoryCommand({ executionArn: `${DEPLOYED.replace('stateMachine', 'execution')}:x`, maxResults: -1 })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "1 validation error detected: Value '-1' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0",
    });
  });

  it('takes a page size of 0 as the default, 100', async () => {
    // [model] ListStateMachines.maxResults: "The default is 100 ... A value of 0 uses the default."
    for (let index = 0; index < 101; index++) stepFunctions.registerStateMachine(`${DEPLOYED}-${index}`, passThrough);
    const { stateMachines = [], nextToken } = await sfn.send(new ListStateMachinesCommand({ maxResults: 0 }));
    expect(stateMachines).toHaveLength(100);
    expect(nextToken).toBeDefined();
  });

  it('refuses a status filter that is no execution status', async () => {
    // [model] ExecutionStatus enum; the order of the set as AWS prints it (localstack's provider and a user's paste of AWS's message).
    expect(await refusalOf(sfn.send(new ListExecutionsCommand({ stateMachineArn: DEPLOYED, statusFilter: 'DONE' as ExecutionStatus })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message:
        "1 validation error detected: Value 'DONE' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
    });
  });

  it('refuses PENDING_REDRIVE for a state machine', async () => {
    // [reference] ListExecutions: "If you provide a stateMachineArn and a PENDING_REDRIVE statusFilter, the API returns a
    // validation exception." AWS's wording is not documented: only the error and status are asserted.
    expect(await refusalOf(sfn.send(new ListExecutionsCommand({ stateMachineArn: DEPLOYED, statusFilter: 'PENDING_REDRIVE' })))).toMatchObject({
      name: 'ValidationException',
      status: 400,
    });
  });

  it('refuses an execution name over 80 characters as a broken constraint', async () => {
    // [model] Name @length(min 1, max 80).
    const name = 'n'.repeat(81);
    expect(await refusalOf(sfn.send(new StartExecutionCommand({ stateMachineArn: DEPLOYED, name })))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80`,
    });
  });
});

describe('state machines created through the API', () => {
  it('describes a created machine with its definition as given and the defaults AWS reports', async () => {
    // [recorded] test_create_exact_duplicate_sm, describe_resp_1.
    const definition = JSON.stringify(passThrough, null, 2);
    const { stateMachineArn, creationDate } = await sfn.send(new CreateStateMachineCommand({ name: 'tryout', definition, roleArn: ROLE }));
    expect(stateMachineArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:tryout`);
    expect(await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).toMatchObject({
      stateMachineArn,
      name: 'tryout',
      status: 'ACTIVE',
      type: 'STANDARD',
      definition,
      roleArn: ROLE,
      creationDate,
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    });
  });

  it('creates the same machine twice as one', async () => {
    // [recorded] test_create_exact_duplicate_sm: the second CreateStateMachine answers 200 with the same ARN.
    const first = await createMachine('twice');
    expect(await createMachine('twice')).toBe(first);
  });

  it('answers StateMachineAlreadyExists for the name with another definition', async () => {
    // [recorded] test_create_duplicate_sm_name: "State Machine Already Exists: '<arn>'", HTTP 400.
    const arn = await createMachine('taken');
    expect(await refusalOf(createMachine('taken', waitAnHour))).toEqual({ name: 'StateMachineAlreadyExists', status: 400, message: `State Machine Already Exists: '${arn}'` });
  });

  it('answers InvalidDefinition with the validation error code', async () => {
    // [recorded] test_create_delete_invalid_sm: "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are
    // required: [States] at /'". The code is AWS's; the detail after it is asl-validator's wording.
    const failure = await refusalOf(createMachine('no-states', { StartAt: 'Nowhere' }));
    expect(failure).toMatchObject({ name: 'InvalidDefinition', status: 400 });
    expect(failure.message).toMatch(/^Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: .*'$/);
  });

  it('answers InvalidDefinition for a transition to no state', async () => {
    // asl-validator's codes are AWS's: MISSING_TRANSITION_TARGET names the state nobody defined.
    const failure = await refusalOf(createMachine('dangling', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' } } }));
    expect(failure).toMatchObject({ name: 'InvalidDefinition', status: 400 });
    expect(failure.message).toMatch(/^Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: .*B/);
  });

  it('answers InvalidName for a name with a forbidden character', async () => {
    // [reference] CreateStateMachine.name must not contain white space (among others); the message wording
    // "Invalid Name: '<name>'" is the one getmoto/moto and localstack give (not recorded against AWS).
    expect(await refusalOf(createMachine('has space'))).toEqual({ name: 'InvalidName', status: 400, message: "Invalid Name: 'has space'" });
  });

  it('runs a changed definition in executions started after UpdateStateMachine', async () => {
    // [reference] UpdateStateMachine: executions started after the update use the new definition.
    const stateMachineArn = await createMachine('changing');
    const changed = { ...passThrough, States: { Greet: { ...passThrough.States.Greet, Result: { greeting: 'changed' } } } };
    await sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition: JSON.stringify(changed) }));
    const executionArn = await finishedExecution(stateMachineArn, 'after-update');
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).output).toBe('{"greeting":"changed"}');
  });

  it('gives an update a revision, kept when the next update changes nothing', async () => {
    // [recorded] test_create_update_state_machine_same_parameters: the same revisionId for the same parameters.
    const stateMachineArn = await createMachine('revised');
    const definition = JSON.stringify({ ...passThrough, Comment: 'revised' });
    const first = await sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition }));
    const again = await sfn.send(new UpdateStateMachineCommand({ stateMachineArn, definition }));
    expect(again.revisionId).toBe(first.revisionId);
    expect(await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).toMatchObject({ definition, revisionId: first.revisionId });
  });

  it('answers MissingRequiredParameter for an update that changes nothing', async () => {
    // [recorded] test_create_update_state_machine_base_update_none, HTTP 400.
    const stateMachineArn = await createMachine('unchanged');
    expect(await refusalOf(sfn.send(new UpdateStateMachineCommand({ stateMachineArn })))).toEqual({
      name: 'MissingRequiredParameter',
      status: 400,
      message: 'Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified',
    });
  });

  it('forgets a deleted machine', async () => {
    // [recorded] test_list_sms (no longer listed) and test_describe_nonexistent_sm ("State Machine Does Not Exist: '<arn>'").
    const stateMachineArn = await createMachine('deleted');
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
    const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
    expect(stateMachines.map((machine) => machine.stateMachineArn)).toEqual([DEPLOYED]);
    expect(await refusalOf(sfn.send(new DescribeStateMachineCommand({ stateMachineArn })))).toEqual({
      name: 'StateMachineDoesNotExist',
      status: 400,
      message: `State Machine Does Not Exist: '${stateMachineArn}'`,
    });
  });

  it('deletes a machine that does not exist without complaint', async () => {
    // [recorded] test_delete_nonexistent_sm: HTTP 200.
    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:never-created`;
    await expect(sfn.send(new DeleteStateMachineCommand({ stateMachineArn }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });

  it('leaves the machine serverless.yml deployed as it was', async () => {
    await createMachine('beside-deployed');
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: DEPLOYED }));
    expect(JSON.parse(described.definition ?? '')).toEqual(waitAnHour);
    expect(described.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/deployed-role`);
  });
});
