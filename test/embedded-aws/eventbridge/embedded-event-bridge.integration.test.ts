import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import {
  EmbeddedEventBridge,
  type EventBridgeEvent,
  type RuleTarget,
  TargetInvocationError,
  type TargetInvoker,
} from '../../../embedded-aws/eventbridge/embedded-event-bridge.ts';
import { AwsServiceError, type FaultInjector } from '../../../embedded-aws/protocol.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:erasure`;
const DLQ_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:erasure-events-dlq`;
const KMS_API_CALLS = { source: ['aws.kms'], 'detail-type': ['AWS API Call via CloudTrail'] };

interface Attempt {
  target: RuleTarget;
  event: EventBridgeEvent;
  at: number;
}

interface Harness {
  client: EventBridgeClient;
  eventBridge: EmbeddedEventBridge;
  clock: VirtualClock;
  attempts: Attempt[];
  logLines: string[];
}

const running: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

/**
 * One EventBridge behind the loopback server, called through the real SDK. Virtual time runs 10,000
 * times faster than real time, so retry back-off of minutes takes milliseconds.
 */
async function startEventBridge(
  outcome: TargetInvoker = async () => {},
  options: { faults?: FaultInjector; deadLetterFile?: string } = {},
): Promise<Harness> {
  const clock = new VirtualClock({ timeScale: 10_000 });
  const attempts: Attempt[] = [];
  const logLines: string[] = [];
  const eventBridge = new EmbeddedEventBridge({
    clock,
    faults: options.faults,
    deadLetterFile: options.deadLetterFile,
    log: (line) => logLines.push(line),
    deliver: async (target, event) => {
      attempts.push({ target, event, at: clock.nowMs() });
      await outcome(target, event);
    },
  });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [eventBridge], queryServices: [] });
  const endpoint = await server.listen();
  const client = new EventBridgeClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'embedded-secret' },
    // Each call reaches the service once, so an injected fault shows instead of being retried away.
    maxAttempts: 1,
  });
  running.push(async () => {
    client.destroy();
    await eventBridge.close();
    await server.close();
  });
  return { client, eventBridge, clock, attempts, logLines };
}

async function ruleWithTarget(
  client: EventBridgeClient,
  name: string,
  pattern: object,
  target: Partial<Target> = {},
  state: 'ENABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' = 'ENABLED',
): Promise<string> {
  const { RuleArn } = await client.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(pattern), State: state }));
  await client.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: `${name}-target`, Arn: STATE_MACHINE_ARN, ...target }] }));
  return RuleArn as string;
}

function erasureRequested(subject = 'subject-42') {
  return { Source: 'com.example.erasure', DetailType: 'Erasure Requested', Detail: JSON.stringify({ subject }) };
}

function kmsApiCall(eventName: string, readOnly: boolean) {
  return {
    source: 'aws.kms',
    detailType: 'AWS API Call via CloudTrail',
    detail: { eventSource: 'kms.amazonaws.com', eventName, readOnly, errorCode: 'KMSInvalidStateException' },
    resources: [`arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
    region: REGION,
    accountId: ACCOUNT,
    time: new Date('2026-03-01T10:00:00Z'),
  };
}

describe('EmbeddedEventBridge buses and rules', () => {
  it('has a default bus in every Region and lists custom buses beside it', async () => {
    const { client } = await startEventBridge();

    const { EventBusArn } = await client.send(new CreateEventBusCommand({ Name: 'erasure' }));
    const { EventBuses } = await client.send(new ListEventBusesCommand({}));

    expect(EventBusArn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/erasure`);
    expect(EventBuses?.map((bus) => bus.Name)).toEqual(['default', 'erasure']);
  });

  it('answers ResourceNotFoundException for a bus that does not exist', async () => {
    const { client } = await startEventBridge();

    const describing = client.send(new DescribeEventBusCommand({ Name: 'missing' }));

    await expect(describing).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: 'Event bus missing does not exist.' });
  });

  it('stores a rule with its pattern and state and gives it a default-bus ARN', async () => {
    const { client } = await startEventBridge();
    const pattern = JSON.stringify({ source: ['aws.kms'], 'detail-type': ['KMS CMK Deletion'] });

    const { RuleArn } = await client.send(new PutRuleCommand({ Name: 'key-deleted', EventPattern: pattern, State: 'DISABLED' }));
    const rule = await client.send(new DescribeRuleCommand({ Name: 'key-deleted' }));

    expect(RuleArn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/key-deleted`);
    expect(rule).toMatchObject({ Name: 'key-deleted', EventPattern: pattern, State: 'DISABLED', EventBusName: 'default' });
  });

  it('rejects a malformed event pattern with InvalidEventPatternException', async () => {
    const { client } = await startEventBridge();

    const putting = client.send(new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ source: [{ contains: 'kms' }] }) }));

    await expect(putting).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
  });

  it('rejects a retry policy outside 0 to 185 attempts', async () => {
    const { client } = await startEventBridge();
    await client.send(new PutRuleCommand({ Name: 'erasure', EventPattern: JSON.stringify({ source: ['com.example.erasure'] }) }));

    const putting = client.send(
      new PutTargetsCommand({ Rule: 'erasure', Targets: [{ Id: 'sfn', Arn: STATE_MACHINE_ARN, RetryPolicy: { MaximumRetryAttempts: 186 } }] }),
    );

    await expect(putting).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses to delete a rule that still has targets, and deletes it once they are removed', async () => {
    const { client } = await startEventBridge();
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, { RetryPolicy: { MaximumRetryAttempts: 3 } });

    await expect(client.send(new DeleteRuleCommand({ Name: 'erasure' }))).rejects.toMatchObject({ name: 'ValidationException' });
    const { Targets } = await client.send(new ListTargetsByRuleCommand({ Rule: 'erasure' }));
    await client.send(new RemoveTargetsCommand({ Rule: 'erasure', Ids: ['erasure-target'] }));
    await client.send(new DeleteRuleCommand({ Name: 'erasure' }));

    expect(Targets).toEqual([{ Id: 'erasure-target', Arn: STATE_MACHINE_ARN, RetryPolicy: { MaximumRetryAttempts: 3 } }]);
    await expect(client.send(new DescribeRuleCommand({ Name: 'erasure' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('EmbeddedEventBridge PutEvents', () => {
  it('delivers an event matching a rule to its target, shaped as EventBridge delivers it', async () => {
    const { client, eventBridge, attempts } = await startEventBridge();
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'], detail: { subject: [{ prefix: 'subject-' }] } });

    const response = await client.send(new PutEventsCommand({ Entries: [{ ...erasureRequested(), Resources: ['arn:aws:s3:::bucket'] }] }));
    await eventBridge.idle();

    expect(response.FailedEntryCount).toBe(0);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.event).toEqual({
      version: '0',
      id: response.Entries?.[0]?.EventId,
      'detail-type': 'Erasure Requested',
      source: 'com.example.erasure',
      account: ACCOUNT,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: REGION,
      resources: ['arn:aws:s3:::bucket'],
      detail: { subject: 'subject-42' },
    });
  });

  it('answers PutEvents while the target is still receiving the event', async () => {
    let releaseTarget = () => {};
    const targetBusy = new Promise<void>((resolve) => {
      releaseTarget = resolve;
    });
    const { client, eventBridge, attempts } = await startEventBridge(() => targetBusy);
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] });

    const response = await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    let idle = false;
    const becameIdle = eventBridge.idle().then(() => {
      idle = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const idleWhileTargetBusy = idle;
    releaseTarget();
    await becameIdle;

    expect(response.FailedEntryCount).toBe(0);
    expect(idleWhileTargetBusy).toBe(false);
    expect(attempts).toHaveLength(1);
  });

  it('skips rules whose pattern does not match and rules that are disabled', async () => {
    const { client, eventBridge, attempts } = await startEventBridge();
    await ruleWithTarget(client, 'other-source', { source: ['com.example.billing'] });
    await ruleWithTarget(client, 'disabled', { source: ['com.example.erasure'] });
    await client.send(new PutRuleCommand({ Name: 'disabled', EventPattern: JSON.stringify({ source: ['com.example.erasure'] }), State: 'DISABLED' }));
    await ruleWithTarget(client, 'matching', { source: ['com.example.erasure'] });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    expect(attempts.map((attempt) => attempt.target.Id)).toEqual(['matching-target']);
  });

  it('reports a malformed Detail per entry and still accepts the other entries', async () => {
    const { client, eventBridge, attempts } = await startEventBridge();
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] });

    const response = await client.send(
      new PutEventsCommand({ Entries: [{ ...erasureRequested(), Detail: '{"subject": ' }, erasureRequested('subject-7')] }),
    );
    await eventBridge.idle();

    expect(response.FailedEntryCount).toBe(1);
    expect(response.Entries?.[0]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(response.Entries?.[1]?.EventId).toEqual(expect.any(String));
    expect(attempts.map((attempt) => attempt.event.detail)).toEqual([{ subject: 'subject-7' }]);
  });

  it('refuses entries whose source claims to be an AWS service', async () => {
    const { client } = await startEventBridge();

    const response = await client.send(new PutEventsCommand({ Entries: [{ ...erasureRequested(), Source: 'aws.kms' }] }));

    expect(response.Entries?.[0]?.ErrorCode).toBe('NotAuthorizedForSourceException');
  });

  it('refuses more than ten entries in one call', async () => {
    const { client } = await startEventBridge();

    const putting = client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => erasureRequested()) }));

    await expect(putting).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('routes events addressed to a custom bus by its ARN', async () => {
    const { client, eventBridge, attempts } = await startEventBridge();
    const { EventBusArn } = await client.send(new CreateEventBusCommand({ Name: 'erasure' }));
    await client.send(new PutRuleCommand({ Name: 'on-erasure-bus', EventBusName: 'erasure', EventPattern: JSON.stringify({ source: ['com.example.erasure'] }) }));
    await client.send(new PutTargetsCommand({ Rule: 'on-erasure-bus', EventBusName: 'erasure', Targets: [{ Id: 'sfn', Arn: STATE_MACHINE_ARN }] }));

    await client.send(new PutEventsCommand({ Entries: [{ ...erasureRequested(), EventBusName: EventBusArn }] }));
    await eventBridge.idle();

    expect(attempts.map((attempt) => attempt.target.Id)).toEqual(['sfn']);
  });

  it('fails the call an injected fault names', async () => {
    const throttled: FaultInjector = (call) =>
      call.operation === 'PutEvents' ? new AwsServiceError('ThrottlingException', 'Rate exceeded') : undefined;
    const { client } = await startEventBridge(undefined, { faults: throttled });

    await expect(client.send(new PutEventsCommand({ Entries: [erasureRequested()] }))).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('EmbeddedEventBridge delivery retries and dead letters', () => {
  it('retries a failing target with growing back-off, then dead-letters the event with the DLQ attributes', async () => {
    const { client, eventBridge, attempts } = await startEventBridge(async () => {
      throw new Error('state machine unavailable');
    });
    const ruleArn = await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, {
      RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      DeadLetterConfig: { Arn: DLQ_ARN },
    });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    expect(attempts).toHaveLength(3);
    const [first, second, third] = attempts.map((attempt) => attempt.at);
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(500);
    expect((third as number) - (second as number)).toBeGreaterThanOrEqual(1000);
    const deadLetters = eventBridge.deadLetters(DLQ_ARN);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.attributes).toEqual({
      ERROR_CODE: 'Error',
      ERROR_MESSAGE: 'state machine unavailable',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttemptsExhausted',
      RETRY_ATTEMPTS: 2,
      RULE_ARN: ruleArn,
      TARGET_ARN: STATE_MACHINE_ARN,
    });
    expect(deadLetters[0]?.event.detail).toEqual({ subject: 'subject-42' });
  });

  it('delivers on a later attempt when the target recovers', async () => {
    let failuresLeft = 2;
    const { client, eventBridge, attempts } = await startEventBridge(async () => {
      if (failuresLeft-- > 0) throw new Error('throttled');
    });
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, { DeadLetterConfig: { Arn: DLQ_ARN } });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    expect(attempts).toHaveLength(3);
    expect(eventBridge.deadLetters()).toEqual([]);
  });

  it('gives up when the next retry would make the event older than MaximumEventAgeInSeconds', async () => {
    const { client, eventBridge, attempts } = await startEventBridge(async () => {
      throw new Error('unavailable');
    });
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, {
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 60 },
      DeadLetterConfig: { Arn: DLQ_ARN },
    });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    const [deadLetter] = eventBridge.deadLetters(DLQ_ARN);
    expect(deadLetter?.attributes.EXHAUSTED_RETRY_CONDITION).toBe('MaximumEventAgeExhausted');
    expect(deadLetter?.attributes.RETRY_ATTEMPTS).toBeLessThan(185);
    const span = (attempts.at(-1)?.at as number) - (attempts[0]?.at as number);
    expect(span).toBeLessThanOrEqual(60_000);
  });

  it('sends a failure the target marks as not retryable straight to the dead-letter queue', async () => {
    const { client, eventBridge, attempts } = await startEventBridge(async () => {
      throw new TargetInvocationError('AccessDeniedException', 'not authorized to start executions', { retryable: false });
    });
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, { DeadLetterConfig: { Arn: DLQ_ARN } });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    expect(attempts).toHaveLength(1);
    expect(eventBridge.deadLetters(DLQ_ARN)[0]?.attributes).toMatchObject({ ERROR_CODE: 'AccessDeniedException', RETRY_ATTEMPTS: 0 });
    expect(eventBridge.deadLetters(DLQ_ARN)[0]?.attributes.EXHAUSTED_RETRY_CONDITION).toBeUndefined();
  });

  it('keeps an undeliverable event whose target has no dead-letter queue as dropped, and says so', async () => {
    const { client, eventBridge, logLines } = await startEventBridge(async () => {
      throw new Error('unavailable');
    });
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, { RetryPolicy: { MaximumRetryAttempts: 0 } });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    expect(eventBridge.deadLetters()).toEqual([]);
    expect(eventBridge.droppedDeliveries()).toHaveLength(1);
    expect(eventBridge.droppedDeliveries()[0]).toMatchObject({ disposition: 'dropped', attempts: 1 });
    expect(logLines.join('\n')).toContain('dropped: the target has no DeadLetterConfig');
  });

  it('appends dead letters to the configured JSON-lines file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'embedded-events-'));
    const deadLetterFile = join(directory, 'dead-letters.jsonl');
    try {
      const { client, eventBridge } = await startEventBridge(
        async () => {
          throw new Error('unavailable');
        },
        { deadLetterFile },
      );
      await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] }, {
        RetryPolicy: { MaximumRetryAttempts: 0 },
        DeadLetterConfig: { Arn: DLQ_ARN },
      });

      await client.send(new PutEventsCommand({ Entries: [erasureRequested('subject-1'), erasureRequested('subject-2')] }));
      await eventBridge.idle();

      const lines = (await readFile(deadLetterFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
      expect(lines.map((line) => line.event.detail.subject).sort()).toEqual(['subject-1', 'subject-2']);
      expect(lines[0]).toMatchObject({ disposition: 'dead-lettered', deadLetterQueueArn: DLQ_ARN, attributes: { ERROR_MESSAGE: 'unavailable' } });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('counts an injected delivery fault as a failed attempt', async () => {
    let faultsLeft = 1;
    const failFirstDelivery: FaultInjector = (call) =>
      call.operation === 'InvokeTarget' && faultsLeft-- > 0 ? new AwsServiceError('ServiceUnavailable', 'injected') : undefined;
    const { client, eventBridge, attempts } = await startEventBridge(undefined, { faults: failFirstDelivery });
    await ruleWithTarget(client, 'erasure', { source: ['com.example.erasure'] });

    await client.send(new PutEventsCommand({ Entries: [erasureRequested()] }));
    await eventBridge.idle();

    expect(faultsLeft).toBe(-1);
    expect(attempts).toHaveLength(1);
    expect(eventBridge.droppedDeliveries()).toEqual([]);
  });
});

describe('EmbeddedEventBridge events from AWS services', () => {
  it('delivers read-only CloudTrail management events only to rules enabled for all management events', async () => {
    const { client, eventBridge, attempts } = await startEventBridge();
    await ruleWithTarget(client, 'enabled', KMS_API_CALLS);
    await ruleWithTarget(client, 'all-management-events', KMS_API_CALLS, {}, 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');

    eventBridge.putEvent(kmsApiCall('Decrypt', true));
    await eventBridge.idle();

    expect(attempts.map((attempt) => attempt.target.Id)).toEqual(['all-management-events-target']);
  });

  it('delivers CloudTrail events of calls that change state to plain ENABLED rules too', async () => {
    const { client, eventBridge, attempts } = await startEventBridge();
    await ruleWithTarget(client, 'enabled', KMS_API_CALLS);
    await ruleWithTarget(client, 'all-management-events', KMS_API_CALLS, {}, 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');

    eventBridge.putEvent(kmsApiCall('ScheduleKeyDeletion', false));
    await eventBridge.idle();

    expect(attempts.map((attempt) => attempt.target.Id).sort()).toEqual(['all-management-events-target', 'enabled-target']);
  });

  it('routes events put in process to rules loaded from configuration', async () => {
    const { eventBridge, attempts } = await startEventBridge();
    const ruleArn = eventBridge.addRule({
      region: REGION,
      accountId: ACCOUNT,
      name: 'key-deleted',
      eventPattern: { source: ['aws.kms'], 'detail-type': ['KMS CMK Deletion'] },
      targets: [{ Id: 'record-deletion', Arn: STATE_MACHINE_ARN }],
    });

    const eventId = eventBridge.putEvent({
      source: 'aws.kms',
      detailType: 'KMS CMK Deletion',
      detail: { 'key-id': '1234abcd-12ab-34cd-56ef-1234567890ab' },
      resources: [`arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
      region: REGION,
      accountId: ACCOUNT,
      time: new Date('2026-04-01T00:00:00.123Z'),
    });
    await eventBridge.idle();

    expect(ruleArn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/key-deleted`);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.event).toMatchObject({ id: eventId, source: 'aws.kms', time: '2026-04-01T00:00:00Z', account: ACCOUNT });
  });

  it('keeps an in-process event refused by an injected fault instead of losing it silently', async () => {
    const refuseAll: FaultInjector = (call) => (call.operation === 'PutEvents' ? new AwsServiceError('InternalException', 'injected') : undefined);
    const { eventBridge, attempts } = await startEventBridge(undefined, { faults: refuseAll });
    eventBridge.addRule({ region: REGION, accountId: ACCOUNT, name: 'api-calls', eventPattern: KMS_API_CALLS, targets: [{ Id: 't', Arn: STATE_MACHINE_ARN }] });

    const eventId = eventBridge.putEvent(kmsApiCall('ScheduleKeyDeletion', false));
    await eventBridge.idle();

    expect(eventId).toBeUndefined();
    expect(attempts).toEqual([]);
    expect(eventBridge.rejectedEvents()).toMatchObject([{ errorCode: 'InternalException', event: { detail: { eventName: 'ScheduleKeyDeletion' } } }]);
  });
});
