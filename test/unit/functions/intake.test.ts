import { readFileSync } from 'node:fs';
import { DescribeExecutionCommand, ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { invoke } from '../../support/invoke.ts';
import { mockLedgerTable } from '../../support/ledger-mock.ts';
import { STATE_MACHINE_ARN, useFunctionEnvironment } from '../../support/settings.ts';

const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const ledger = mockLedgerTable();
let handler: typeof import('../../../functions/intake.ts').handler;

beforeAll(async () => {
  useFunctionEnvironment();
  ({ handler } = await import('../../../functions/intake.ts'));
});
afterEach(() => {
  sfn.reset();
  sqs.reset();
  ledger.reset();
});
// The mutation run shares modules between test files: a mock left in place would answer theirs.
afterAll(() => {
  sfn.restore();
  sqs.restore();
});

const closure = () => JSON.parse(readFileSync('events/account-closed.json', 'utf8'));
const executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:erasure-${fingerprintSubject('user-4821')}`;

describe('intake handler', () => {
  it('starts the erasure under a name that hides the subject', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });
    await expect(invoke(handler, closure())).resolves.toMatchObject({ outcome: 'started', executionArn });
    const [call] = sfn.commandCalls(StartExecutionCommand);
    expect(call?.args[0].input).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: `erasure-${fingerprintSubject('user-4821')}` });
    expect(JSON.parse(call?.args[0].input.input ?? '{}')).toMatchObject({ request: { subjectId: 'user-4821', eventId: closure().id, keyIds: [] } });
    expect(ledger.eventTypes(fingerprintSubject('user-4821'))).toEqual(['ClosureReceived', 'ErasureStarted']);
  });

  it('treats ExecutionAlreadyExists for a running erasure as already in progress', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', executionArn });
    await expect(invoke(handler, closure())).resolves.toMatchObject({ outcome: 'already-in-progress' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('refuses a malformed event with ClosureEventInvalid into the dead-letter queue, once, and starts nothing', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'dl-1' });
    const malformed = JSON.parse(readFileSync('events/account-closed-malformed.json', 'utf8'));
    await expect(invoke(handler, malformed)).resolves.toMatchObject({
      outcome: 'rejected',
      eventId: malformed.id,
      reason: expect.stringMatching(/detail\.subjectId: must be .*detail\.closedAt/),
      deadLettered: true,
    });
    await expect(invoke(handler, malformed)).resolves.toMatchObject({ outcome: 'rejected', deadLettered: false });
    const [letter] = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(letter?.MessageAttributes?.EVENT_ID).toEqual({ DataType: 'String', StringValue: malformed.id });
    expect(JSON.parse(letter?.MessageBody ?? '{}')).toMatchObject({ eventId: malformed.id, error: 'ClosureEventInvalid' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('lets throttling fail as ThrottlingException, so the event is retried, not lost', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(invoke(handler, closure())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

});
