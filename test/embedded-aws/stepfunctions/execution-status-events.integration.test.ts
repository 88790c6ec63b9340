import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { EmbeddedEventBridge, type EventBridgeEvent } from '../../../embedded-aws/eventbridge/embedded-event-bridge.ts';
import { LambdaFunctionError } from '../../../embedded-aws/lambda/local-functions.ts';
import type { AwsEvent } from '../../../embedded-aws/protocol.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { EmbeddedStepFunctions } from '../../../embedded-aws/stepfunctions/embedded-step-functions.ts';
import { executionStatusChangeEvent } from '../../../embedded-aws/stepfunctions/execution-events.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:erasure`;
const TIMED_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:erasure-with-deadline`;
const EXPRESS_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:erasure-express`;
const FUNCTION = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:erase`;
const DAY = 86_400_000;

const waitThenErase = {
  StartAt: 'WaitUntilDue',
  States: {
    WaitUntilDue: { Type: 'Wait', Comment: 'wait', SecondsPath: '$.waitSeconds', Next: 'Erase' },
    Erase: { Type: 'Task', Comment: 'erase', Resource: FUNCTION, End: true },
  },
};
const eraseWithinAnHour = { ...waitThenErase, TimeoutSeconds: 3600 };

let clock: VirtualClock;
let server: EmbeddedAwsServer;
let stepFunctions: EmbeddedStepFunctions;
let eventBridge: EmbeddedEventBridge;
let sfn: SFNClient;
let emitted: AwsEvent[];
let delivered: EventBridgeEvent[];
let failures: Error[];

beforeEach(async () => {
  clock = new VirtualClock({ timeScale: 1, start: new Date('2026-11-22T00:00:00Z') });
  emitted = [];
  delivered = [];
  failures = [];
  eventBridge = new EmbeddedEventBridge({ clock, log: () => {}, deliver: async (_target, event) => void delivered.push(event) });
  stepFunctions = new EmbeddedStepFunctions({
    clock,
    invokeFunction: async () => {
      const failure = failures.shift();
      if (failure) throw failure;
      return { erased: true };
    },
    emit: (event) => {
      emitted.push(event);
      eventBridge.putEvent(event);
    },
  });
  stepFunctions.registerStateMachine(MACHINE, waitThenErase);
  stepFunctions.registerStateMachine(TIMED_MACHINE, eraseWithinAnHour);
  stepFunctions.registerStateMachine(EXPRESS_MACHINE, waitThenErase, 'EXPRESS');
  server = new EmbeddedAwsServer({ port: 0, defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [stepFunctions], queryServices: [] });
  sfn = new SFNClient({ endpoint: await server.listen(), region: REGION, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
});
afterEach(async () => {
  stepFunctions.close();
  await eventBridge.close();
  await server.close();
});

const start = (name: string, waitSeconds: number, stateMachineArn = MACHINE) =>
  sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ waitSeconds }) }));

describe('Step Functions Execution Status Change events', () => {
  it('announces a Standard execution as RUNNING, then SUCCEEDED with its output', async () => {
    const { executionArn, startDate } = await start('succeeds', 0);
    await stepFunctions.idle();

    const executionFields = {
      executionArn,
      stateMachineArn: MACHINE,
      name: 'succeeds',
      startDate: startDate!.getTime(),
      input: '{"waitSeconds":0}',
      inputDetails: { included: true },
      error: null,
      cause: null,
    };
    expect(emitted).toEqual([
      {
        source: 'aws.states',
        detailType: 'Step Functions Execution Status Change',
        detail: { ...executionFields, status: 'RUNNING', stopDate: null, output: null, outputDetails: null },
        resources: [executionArn],
        region: REGION,
        accountId: ACCOUNT,
        time: startDate,
      },
      {
        source: 'aws.states',
        detailType: 'Step Functions Execution Status Change',
        detail: { ...executionFields, status: 'SUCCEEDED', stopDate: expect.any(Number), output: '{"erased":true}', outputDetails: { included: true } },
        resources: [executionArn],
        region: REGION,
        accountId: ACCOUNT,
        time: expect.any(Date),
      },
    ]);
    const { stopDate } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(emitted[1]?.detail.stopDate).toBe(stopDate!.getTime());
  });

  it("announces a failed execution as FAILED with the task's error and cause", async () => {
    failures.push(new LambdaFunctionError('KeyNotOwnedBySubject', 'not theirs', []));
    const { executionArn } = await start('fails', 0);
    await stepFunctions.idle();

    expect(emitted.map((event) => event.detail.status)).toEqual(['RUNNING', 'FAILED']);
    expect(emitted[1]?.detail).toMatchObject({ executionArn, error: 'KeyNotOwnedBySubject', output: null, outputDetails: null, stopDate: expect.any(Number) });
    expect(JSON.parse(String(emitted[1]?.detail.cause))).toMatchObject({ errorType: 'KeyNotOwnedBySubject', errorMessage: 'not theirs' });
  });

  it("announces a stopped execution as ABORTED with the stop's error and cause", async () => {
    const { executionArn } = await start('stopped', 30 * 86_400);
    const { stopDate } = await sfn.send(new StopExecutionCommand({ executionArn, error: 'LegalHold', cause: 'hold requested by counsel' }));
    await stepFunctions.idle();

    expect(emitted.map((event) => event.detail.status)).toEqual(['RUNNING', 'ABORTED']);
    expect(emitted[1]?.detail).toMatchObject({ executionArn, error: 'LegalHold', cause: 'hold requested by counsel', output: null, stopDate: stopDate!.getTime() });
  });

  it('announces ABORTED with null error and cause when the stop gives none', async () => {
    const { executionArn } = await start('stopped-quietly', 30 * 86_400);
    await sfn.send(new StopExecutionCommand({ executionArn }));
    await stepFunctions.idle();

    expect(emitted[1]?.detail).toMatchObject({ status: 'ABORTED', error: null, cause: null });
  });

  it("times an execution out at the machine's TimeoutSeconds on the virtual clock", async () => {
    const { executionArn, startDate } = await start('overdue', 86_400, TIMED_MACHINE);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const whileWaiting = (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status;

    clock.advance(3600_000);
    await stepFunctions.idle();

    expect(whileWaiting).toBe('RUNNING');
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(emitted.map((event) => event.detail.status)).toEqual(['RUNNING', 'TIMED_OUT']);
    expect(emitted[1]?.detail).toMatchObject({ error: 'States.Timeout', output: null, stopDate: described.stopDate!.getTime() });
    expect(described.stopDate!.getTime() - startDate!.getTime()).toBeGreaterThanOrEqual(3600_000);
    expect(described.stopDate!.getTime() - startDate!.getTime()).toBeLessThan(DAY);
  });

  it('lets an execution that ends within its TimeoutSeconds succeed', async () => {
    await start('in-time', 60, TIMED_MACHINE);
    clock.advance(60_000);
    await stepFunctions.idle();
    clock.advance(3600_000);

    expect(emitted.map((event) => event.detail.status)).toEqual(['RUNNING', 'SUCCEEDED']);
  });

  it('announces nothing for an Express workflow', async () => {
    await start('express', 0, EXPRESS_MACHINE);
    await stepFunctions.idle();

    expect(emitted).toEqual([]);
  });

  it('delivers the ABORTED event to a rule on the default bus that asks for it', async () => {
    eventBridge.addRule({
      region: REGION,
      accountId: ACCOUNT,
      name: 'erasure-stopped',
      eventPattern: { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['ABORTED'] } },
      targets: [{ Id: 'alert-on-call', Arn: FUNCTION }],
    });
    const { executionArn } = await start('held', 30 * 86_400);

    await sfn.send(new StopExecutionCommand({ executionArn, error: 'LegalHold', cause: 'hold requested by counsel' }));
    await stepFunctions.idle();
    await eventBridge.idle();

    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      account: ACCOUNT,
      region: REGION,
      resources: [executionArn],
      detail: { executionArn, status: 'ABORTED', error: 'LegalHold' },
    });
  });
});

describe('executionStatusChangeEvent', () => {
  it('leaves out an output whose escaped JSON exceeds 248 KB, and says so', () => {
    const output = JSON.stringify({ certificate: 'x'.repeat(250 * 1024) });
    const event = executionStatusChangeEvent(
      {
        executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:large`,
        stateMachineArn: MACHINE,
        name: 'large',
        status: 'SUCCEEDED',
        startDate: new Date('2026-11-22T00:00:00Z'),
        stopDate: new Date('2026-11-22T00:00:01Z'),
        input: '{}',
        output,
      },
      new Date('2026-11-22T00:00:01Z'),
    );

    expect(event.detail).toMatchObject({ input: '{}', inputDetails: { included: true }, output: null, outputDetails: { included: false } });
  });
});
