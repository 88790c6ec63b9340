import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-aws/clock.ts';
import { EmbeddedEventBridge } from '../../../embedded-aws/eventbridge/index.ts';
import { EmbeddedAwsServer } from '../../../embedded-aws/server.ts';
import { refusalOf, type Refusal } from '../../support/refusal.ts';

// Each case answers as AWS answers, and says where AWS's answer was read:
//   [reference] EventBridge API Reference (PutEvents, PutRule, PutTargets, TestEventPattern) and the
//               service model in @aws-sdk/client-eventbridge
//   [quotas]    EventBridge User Guide, "Amazon EventBridge quotas"
//   [ruler]     aws/event-ruler, the matcher EventBridge runs: JsonRuleCompiler.java, WildcardParser.java,
//               MachineComplexityEvaluator.java (its reasons follow "Event pattern is not valid. Reason: ")
//   [localstack] localstack/localstack, whose EventBridge tests are recorded against AWS
//               (services/events/provider.py, event_rule_engine.py)
// Answers to invalid patterns: AWS appends the Jackson parser's location to the reason
// ("\n at [Source: ...; line: 1, column: 40]"), whose wording depends on EventBridge's Jackson version,
// so those messages are compared up to the reason.

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:erasure`;
const INVALID_PATTERN = 'Event pattern is not valid. Reason: ';

const running: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

async function startEventBridge(): Promise<EventBridgeClient> {
  const eventBridge = new EmbeddedEventBridge({ clock: new VirtualClock({ timeScale: 10_000 }), deliver: async () => {}, log: () => {} });
  const server = new EmbeddedAwsServer({ defaultRegion: REGION, accountId: ACCOUNT, jsonServices: [eventBridge], queryServices: [] });
  const endpoint = await server.listen();
  const client = new EventBridgeClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'AKIAEMBEDDEDTEST', secretAccessKey: 'embedded-secret' },
    maxAttempts: 1,
  });
  running.push(async () => {
    client.destroy();
    await eventBridge.close();
    await server.close();
  });
  return client;
}


async function patternRefusal(client: EventBridgeClient, pattern: object | string): Promise<Refusal> {
  const text = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
  return refusalOf(client.send(new PutRuleCommand({ Name: 'erasure-requests', EventPattern: text })));
}

function expectInvalidPattern(refusal: Refusal, reason: string): void {
  expect(refusal).toMatchObject({ name: 'InvalidEventPatternException', status: 400 });
  expect(refusal.message.startsWith(`${INVALID_PATTERN}${reason}`)).toBe(true);
}

function erasureRequested(subject: string): PutEventsRequestEntry {
  return { Source: 'com.example.erasure', DetailType: 'Erasure Requested', Detail: JSON.stringify({ subject }) };
}

function stateMachineTarget(id: string): Target {
  return { Id: id, Arn: STATE_MACHINE_ARN };
}

const TEST_EVENT = {
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'Erasure Requested',
  source: 'com.example.erasure',
  account: ACCOUNT,
  time: '2026-03-01T10:00:00Z',
  region: REGION,
  resources: [],
  detail: { subject: 'subject-42' },
};

describe('EventBridge event patterns answer as AWS does', () => {
  it('refuses anything-but with an empty prefix', async () => {
    const client = await startEventBridge();

    // [ruler] JsonRuleCompiler: barf(parser, "Null prefix/suffix not allowed"); [localstack] event_rule_engine.py.
    const refusal = await patternRefusal(client, { source: [{ 'anything-but': { prefix: '' } }] });

    expectInvalidPattern(refusal, 'Null prefix/suffix not allowed');
  });

  it('refuses anything-but with an empty suffix', async () => {
    const client = await startEventBridge();

    // [ruler] JsonRuleCompiler, the same check for anything-but suffix.
    const refusal = await patternRefusal(client, { detail: { FileName: [{ 'anything-but': { suffix: '' } }] } });

    expectInvalidPattern(refusal, 'Null prefix/suffix not allowed');
  });

  it('refuses an empty prefix inside an anything-but list', async () => {
    const client = await startEventBridge();

    // [ruler] JsonRuleCompiler.processAnythingButValuesSetMatchExpression checks every value of the list.
    const refusal = await patternRefusal(client, { source: [{ 'anything-but': { prefix: ['aws.', ''] } }] });

    expectInvalidPattern(refusal, 'Null prefix/suffix not allowed');
  });

  it('refuses wildcard filters on one field that are too complex to match', async () => {
    const client = await startEventBridge();
    const keys = ['*/datasync/*.bif', '*/datasync/*.tif', '*/datasync/*.tiff', '*/datasync/*.svs'];

    // AWS's answer to these four filters on one field, quoted in a public Terraform module that had to
    // split them over two rules; [ruler] MachineComplexityEvaluator is the measure; User Guide,
    // "Wildcard matching complexity".
    const refusal = await patternRefusal(client, { detail: { object: { key: keys.map((wildcard) => ({ wildcard })) } } });

    expectInvalidPattern(
      refusal,
      'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
    );
  });

  it('accepts wildcard filters that stay within the complexity AWS allows', async () => {
    const client = await startEventBridge();
    const keys = ['*/datasync/*.bif', '*/datasync/*.tif'];

    // The same Terraform module: AWS accepted these two filters in one rule.
    const created = await client.send(
      new PutRuleCommand({ Name: 'datasync', EventPattern: JSON.stringify({ detail: { object: { key: keys.map((wildcard) => ({ wildcard })) } } }) }),
    );

    expect(created.RuleArn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/datasync`);
  });

  it('refuses consecutive wildcard characters, giving their position in the quoted value', async () => {
    const client = await startEventBridge();

    // [ruler] WildcardParser: "Consecutive wildcard characters at pos " + i, i counted in "\"dir/**.png\"";
    // [localstack] event_rule_engine.py.
    const refusal = await patternRefusal(client, { FileName: [{ wildcard: 'dir/**.png' }] });

    expectInvalidPattern(refusal, 'Consecutive wildcard characters at pos 5');
  });

  it('refuses an escape other than \\* and \\\\ in a wildcard', async () => {
    const client = await startEventBridge();

    // [ruler] WildcardParser: "Invalid escape character at pos " + i; User Guide: only \* and \\ may be escaped.
    const refusal = await patternRefusal(client, { FileName: [{ wildcard: 'dir\\d' }] });

    expectInvalidPattern(refusal, 'Invalid escape character at pos 4');
  });

  it('refuses exists with a value other than true or false', async () => {
    const client = await startEventBridge();

    // [ruler] JsonRuleCompiler.processExistsExpression; [localstack] event_rule_engine.py.
    const refusal = await patternRefusal(client, { detail: { state: [{ exists: 'yes' }] } });

    expectInvalidPattern(refusal, 'exists match pattern must be either true or false.');
  });

  it('refuses a numeric range written upper bound first', async () => {
    const client = await startEventBridge();

    // [ruler] processNumericMatchExpression: "<" takes one value, then tooManyElements.
    const refusal = await patternRefusal(client, { detail: { size: [{ numeric: ['<', 10, '>', 0] }] } });

    expectInvalidPattern(refusal, 'Too many elements in numeric expression');
  });

  it('refuses a numeric range whose bottom is not below its top', async () => {
    const client = await startEventBridge();

    // [localstack] event_rule_engine.py, recorded against AWS: "Bottom must be less than top".
    const refusal = await patternRefusal(client, { detail: { size: [{ numeric: ['>', 10, '<=', 5] }] } });

    expectInvalidPattern(refusal, 'Bottom must be less than top');
  });

  it('refuses a numeric comparison with a value that is not a number', async () => {
    const client = await startEventBridge();

    // [ruler] processNumericMatchExpression: "Value of > must be numeric".
    const refusal = await patternRefusal(client, { detail: { size: [{ numeric: ['>', 'ten'] }] } });

    expectInvalidPattern(refusal, 'Value of > must be numeric');
  });

  it('refuses a field whose value is neither an object nor an array', async () => {
    const client = await startEventBridge();

    // AWS's answer quoted in buildkite/docs PR 896: 'Reason: "slug" must be an object or an array at [Source: ...'.
    const refusal = await patternRefusal(client, { detail: { pipeline: { slug: 'some-pipeline' } } });

    expectInvalidPattern(refusal, '"slug" must be an object or an array');
  });

  it('refuses an empty object', async () => {
    const client = await startEventBridge();

    // AWS's answer quoted in cloud-custodian issue 6507: "Reason: Empty objects are not allowed at [Source: ...".
    const refusal = await patternRefusal(client, { source: ['aws.health'], detail: {} });

    expectInvalidPattern(refusal, 'Empty objects are not allowed');
  });

  it('refuses a pattern that is not a JSON object', async () => {
    const client = await startEventBridge();

    // [ruler] JsonRuleCompiler.doCompile: "Filter is not an object".
    const refusal = await patternRefusal(client, '["aws.kms"]');

    expectInvalidPattern(refusal, 'Filter is not an object');
  });

  it('refuses a PutRule pattern that is not valid JSON with InvalidEventPatternException', async () => {
    const client = await startEventBridge();

    // AWS's answer quoted in ansible issue 67510: InvalidEventPatternException, "Event pattern is not
    // valid. Reason: " and the JSON parser's complaint.
    const refusal = await patternRefusal(client, '{ "source": [ "aws.kms" ');

    expectInvalidPattern(refusal, '');
  });

  it('refuses a TestEventPattern pattern that is not valid JSON with InvalidEventPatternException', async () => {
    const client = await startEventBridge();

    // [reference] TestEventPattern errors: InvalidEventPatternException, "The event pattern is not valid."
    const refusal = await refusalOf(client.send(new TestEventPatternCommand({ EventPattern: '{ "source": ', Event: JSON.stringify(TEST_EVENT) })));

    expectInvalidPattern(refusal, '');
  });
});

describe('EventBridge TestEventPattern answers as AWS does', () => {
  it('refuses an event that is not valid JSON', async () => {
    const client = await startEventBridge();

    // [localstack] provider.py test_event_pattern: ValidationException "Parameter Event is not valid."
    const refusal = await refusalOf(client.send(new TestEventPatternCommand({ EventPattern: '{"source":["com.example.erasure"]}', Event: '{ "id": ' })));

    expect(refusal).toEqual({ name: 'ValidationException', status: 400, message: 'Parameter Event is not valid.' });
  });

  it('refuses an event missing a field TestEventPattern requires', async () => {
    const client = await startEventBridge();
    const { account: _account, ...withoutAccount } = TEST_EVENT;

    // [reference] TestEventPattern: id, account, source, time, region and detail-type are mandatory;
    // AWS's answer, met by a developer testing a partial event, is "Parameter Event is not valid.".
    const refusal = await refusalOf(
      client.send(new TestEventPatternCommand({ EventPattern: '{"source":["com.example.erasure"]}', Event: JSON.stringify(withoutAccount) })),
    );

    expect(refusal).toEqual({ name: 'ValidationException', status: 400, message: 'Parameter Event is not valid.' });
  });

  it('matches an event that carries no resources', async () => {
    const client = await startEventBridge();
    const { resources: _resources, ...withoutResources } = TEST_EVENT;

    // [localstack] provider.py: "the documentation says that `resources` is mandatory, but it is not in reality".
    const tested = await client.send(
      new TestEventPatternCommand({ EventPattern: '{"source":["com.example.erasure"]}', Event: JSON.stringify(withoutResources) }),
    );

    expect(tested.Result).toBe(true);
  });
});

describe('EventBridge limits answer as AWS does', () => {
  it('refuses more than ten PutEvents entries, echoing the entries', async () => {
    const client = await startEventBridge();
    const entries = Array.from({ length: 11 }, (_, index) => erasureRequested(`subject-${index}`));

    // [reference] PutEvents: at most 10 entries; the message is AWS's as [localstack] provider.py
    // recorded it: each entry printed as PutEventsRequestEntry(...), absent members as null.
    const refusal = await refusalOf(client.send(new PutEventsCommand({ Entries: entries })));

    const printed = entries.map(
      (entry) =>
        `PutEventsRequestEntry(time=null, source=com.example.erasure, resources=null, detailType=Erasure Requested, detail=${entry.Detail}, eventBusName=null, traceHeader=null, kmsKeyIdentifier=null, internalMetadata=null)`,
    );
    expect(refusal).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '[${printed.join(', ')}]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10`,
    });
  });

  it('refuses a PutEvents call with no entries', async () => {
    const client = await startEventBridge();

    // [reference] PutEvents Entries: array members, minimum 1 item.
    const refusal = await refusalOf(client.send(new PutEventsCommand({ Entries: [] })));

    expect(refusal).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    });
  });

  it('refuses a sixth target on a rule with LimitExceededException', async () => {
    const client = await startEventBridge();
    await client.send(new PutRuleCommand({ Name: 'erasure-requests', EventPattern: '{"source":["com.example.erasure"]}' }));
    await client.send(new PutTargetsCommand({ Rule: 'erasure-requests', Targets: ['a', 'b', 'c', 'd', 'e'].map(stateMachineTarget) }));

    // [quotas] five targets per rule; AWS's message as quoted in cfn-lint issue 306 and
    // 18F/identity-terraform PR 121: "The requested resource exceeds the maximum number allowed."
    const refusal = await refusalOf(client.send(new PutTargetsCommand({ Rule: 'erasure-requests', Targets: [stateMachineTarget('f')] })));

    expect(refusal).toEqual({ name: 'LimitExceededException', status: 400, message: 'The requested resource exceeds the maximum number allowed.' });
  });

  it('refuses six targets given in one call with LimitExceededException', async () => {
    const client = await startEventBridge();
    await client.send(new PutRuleCommand({ Name: 'erasure-requests', EventPattern: '{"source":["com.example.erasure"]}' }));

    // cfn-lint issue 306: six targets in one aws events put-targets call, AWS's answer verbatim.
    const refusal = await refusalOf(
      client.send(new PutTargetsCommand({ Rule: 'erasure-requests', Targets: ['a', 'b', 'c', 'd', 'e', 'f'].map(stateMachineTarget) })),
    );

    expect(refusal).toEqual({ name: 'LimitExceededException', status: 400, message: 'The requested resource exceeds the maximum number allowed.' });
  });

  it('refuses a rule name longer than 64 characters', async () => {
    const client = await startEventBridge();
    const name = 'r'.repeat(65);

    // [reference] PutRule Name: length 1 to 64, pattern [\.\-_A-Za-z0-9]+.
    const refusal = await refusalOf(client.send(new PutRuleCommand({ Name: name, EventPattern: '{"source":["com.example.erasure"]}' })));

    expect(refusal).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64`,
    });
  });

  it('refuses a target id longer than 64 characters', async () => {
    const client = await startEventBridge();
    await client.send(new PutRuleCommand({ Name: 'erasure-requests', EventPattern: '{"source":["com.example.erasure"]}' }));
    const id = 'CdPipelineEventsTargetLambdaFunctionActionsEventsRuleLambdaTarget';

    // AWS's answer to this very id, quoted in aws/serverless-application-model issue 1742.
    const refusal = await refusalOf(client.send(new PutTargetsCommand({ Rule: 'erasure-requests', Targets: [stateMachineTarget(id)] })));

    expect(refusal).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '${id}' at 'targets.1.member.id' failed to satisfy constraint: Member must have length less than or equal to 64`,
    });
  });

  it('refuses an event pattern longer than 4,096 characters', async () => {
    const client = await startEventBridge();
    const pattern = JSON.stringify({ source: ['com.example.erasure'], detail: { subject: Array.from({ length: 400 }, (_, index) => `subject-${index}`) } });

    // [reference] PutRule EventPattern: maximum length 4096.
    const refusal = await refusalOf(client.send(new PutRuleCommand({ Name: 'erasure-requests', EventPattern: pattern })));

    expect(refusal).toEqual({
      name: 'ValidationException',
      status: 400,
      message: `1 validation error detected: Value '${pattern}' at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to 4096`,
    });
  });
});
