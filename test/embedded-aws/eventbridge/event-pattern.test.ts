import { describe, expect, it } from 'vitest';
import { matchesPattern, parseEventPattern, validatePattern } from '../../../embedded-aws/eventbridge/event-pattern.ts';
import type { JsonObject } from '../../../embedded-aws/protocol.ts';

// Patterns and events below are AWS's documented examples, taken from:
//   [syntax]    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
//   [filtering] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
//   [operators] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
//   [arrays]    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
//   [null]      https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
//   [ruler]     https://github.com/aws/event-ruler (README: the matcher EventBridge runs)
//   [wildcard]  https://aws.amazon.com/blogs/compute/filtering-events-in-amazon-eventbridge-with-wildcard-pattern-matching/
// Where an operator's page shows only the pattern, the events are ours, built to sit just inside and
// just outside what the documentation says the pattern selects.

/** The EC2 state-change event of [syntax]. */
const ec2Terminated: JsonObject = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** The sample event every [ruler] and [filtering] example is written against. */
const rulerSample: JsonObject = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

function withDetail(changes: JsonObject, base: JsonObject = rulerSample): JsonObject {
  return { ...base, detail: { ...(base.detail as JsonObject), ...changes } };
}

interface PatternCase {
  behaviour: string;
  pattern: JsonObject;
  matching: JsonObject[];
  notMatching: JsonObject[];
}

function checkCases(cases: PatternCase[]): void {
  it.each(cases)('$behaviour', ({ pattern, matching, notMatching }) => {
    for (const event of matching) expect(matchesPattern(pattern, event), JSON.stringify(event)).toBe(true);
    for (const event of notMatching) expect(matchesPattern(pattern, event), JSON.stringify(event)).toBe(false);
  });
}

describe('matchesPattern: values, nesting and arrays', () => {
  checkCases([
    {
      behaviour: 'matches the EC2 termination event on source, detail-type and a nested detail field [syntax]',
      pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } },
      matching: [ec2Terminated],
      notMatching: [withDetail({ state: 'running' }, ec2Terminated), { ...ec2Terminated, source: 'aws.s3' }],
    },
    {
      behaviour: 'treats the values listed for one field as alternatives [syntax]',
      pattern: { source: ['aws.ec2', 'aws.fargate'] },
      matching: [ec2Terminated, { ...ec2Terminated, source: 'aws.fargate' }],
      notMatching: [{ ...ec2Terminated, source: 'aws.s3' }],
    },
    {
      behaviour: 'requires every field named in the pattern to be present in the event [syntax]',
      pattern: { source: ['aws.ec2'], detail: { 'instance-type': ['t2.micro'] } },
      matching: [withDetail({ 'instance-type': 't2.micro' }, ec2Terminated)],
      notMatching: [ec2Terminated],
    },
    {
      behaviour: 'matches an event array when it shares any value with the pattern array [arrays]',
      pattern: {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
        ],
      },
      matching: [
        {
          resources: [
            'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
            'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          ],
        },
      ],
      notMatching: [{ resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] }, { resources: [] }],
    },
    {
      behaviour: 'matches an empty string only against an empty string and null only against null [null]',
      pattern: { detail: { eventVersion: [''] } },
      matching: [{ detail: { eventVersion: '', responseElements: null } }],
      notMatching: [{ detail: { eventVersion: null } }, { detail: {} }],
    },
    {
      behaviour: 'matches a null value with a null in the pattern [null]',
      pattern: { detail: { responseElements: [null] } },
      matching: [{ detail: { eventVersion: '', responseElements: null } }],
      notMatching: [{ detail: { responseElements: '' } }, { detail: {} }],
    },
    {
      behaviour: 'keeps fields of different array elements apart when matching objects inside arrays [ruler]',
      pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
      matching: [
        {
          employees: [
            { firstName: 'John', lastName: 'Doe' },
            { firstName: 'Anna', lastName: 'Smith' },
            { firstName: 'Peter', lastName: 'Jones' },
          ],
        },
      ],
      notMatching: [
        {
          employees: [
            { firstName: 'Anna', lastName: 'Jones' },
            { firstName: 'Peter', lastName: 'Smith' },
          ],
        },
      ],
    },
    {
      behaviour: 'compares JSON types strictly, so the string "5" is not the number 5',
      pattern: { detail: { 'c-count': [5] } },
      matching: [rulerSample],
      notMatching: [withDetail({ 'c-count': '5' })],
    },
  ]);
});

describe('matchesPattern: string operators', () => {
  checkCases([
    {
      behaviour: 'matches a prefix of a string value [filtering]',
      pattern: { time: [{ prefix: '2017-10-02' }] },
      matching: [{ time: '2017-10-02T18:43:48Z' }],
      notMatching: [{ time: '2017-10-03T18:43:48Z' }, { time: 20171002 }],
    },
    {
      behaviour: 'matches a prefix regardless of case with equals-ignore-case [operators]',
      pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      matching: [{ detail: { service: 'EventBridge' } }, { detail: { service: 'EVENTBRIDGE' } }, { detail: { service: 'eventbus' } }],
      notMatching: [{ detail: { service: 'Events' } }],
    },
    {
      behaviour: 'matches a suffix of a string value, case-sensitively [operators]',
      pattern: { FileName: [{ suffix: '.png' }] },
      matching: [{ FileName: 'image.png' }],
      notMatching: [{ FileName: 'image.PNG' }, { FileName: 'image.jpg' }],
    },
    {
      behaviour: 'matches a suffix regardless of case with equals-ignore-case [operators]',
      pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
      matching: [{ detail: { FileName: 'image.PNG' } }, { detail: { FileName: 'image.png' } }],
      notMatching: [{ detail: { FileName: 'image.jpg' } }],
    },
    {
      behaviour: 'matches a whole value regardless of case with equals-ignore-case [operators]',
      pattern: { Name: [{ 'equals-ignore-case': 'alice' }] },
      matching: [{ Name: 'Alice' }, { Name: 'ALICE' }],
      notMatching: [{ Name: 'Alicia' }],
    },
    {
      behaviour: 'matches any run of characters, none included, where the wildcard stands [ruler]',
      pattern: { source: [{ wildcard: 'Simple*Service' }] },
      matching: [{ source: 'SimpleNotificationService' }, { source: 'SimpleService' }],
      notMatching: [{ source: 'SimpleQueue' }, { source: 'NotSimpleService' }],
    },
    {
      behaviour: 'matches path-like values with a wildcard spanning several segments [operators]',
      pattern: { FileName: [{ wildcard: 'dir/*.png' }] },
      matching: [{ FileName: 'dir/dir/image.png' }, { FileName: 'dir/image.png' }],
      notMatching: [{ FileName: 'dir/image.jpg' }, { FileName: 'other/image.png' }],
    },
    {
      behaviour: 'matches values containing a word with a wildcard on both sides [wildcard]',
      pattern: { detail: { title: [{ wildcard: '*Title*' }] } },
      matching: [{ detail: { title: 'A Title here' } }, { detail: { title: 'Title' } }],
      notMatching: [{ detail: { title: 'A title here' } }],
    },
    {
      behaviour: 'treats an escaped asterisk in a wildcard as a literal asterisk [ruler]',
      pattern: parsePatternText('{ "value": [ { "wildcard": "a\\\\*b" } ] }'),
      matching: [{ value: 'a*b' }],
      notMatching: [{ value: 'axb' }, { value: 'ab' }],
    },
  ]);
});

describe('matchesPattern: anything-but', () => {
  checkCases([
    {
      behaviour: 'matches anything but one string [filtering]',
      pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
      matching: [rulerSample],
      notMatching: [withDetail({ state: 'initializing' }), { detail: {} }],
    },
    {
      behaviour: 'matches anything but one number [filtering]',
      pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      matching: [rulerSample],
      notMatching: [withDetail({ 'x-limit': 123 })],
    },
    {
      behaviour: 'matches anything but a list of strings [filtering]',
      pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      matching: [rulerSample],
      notMatching: [withDetail({ state: 'stopped' }), withDetail({ state: 'overloaded' })],
    },
    {
      behaviour: 'matches anything but a list of numbers [filtering]',
      pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      matching: [rulerSample],
      notMatching: [withDetail({ 'x-limit': 200 })],
    },
    {
      behaviour: 'matches anything but values with a prefix [filtering]',
      pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      matching: [rulerSample],
      notMatching: [withDetail({ state: 'initializing' })],
    },
    {
      behaviour: 'matches anything but values with a suffix [operators]',
      pattern: { FileName: [{ 'anything-but': { suffix: '.png' } }] },
      matching: [{ FileName: 'image.jpg' }],
      notMatching: [{ FileName: 'image.png' }],
    },
    {
      behaviour: 'matches anything but a value in any casing [operators]',
      pattern: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
      matching: [{ state: 'running' }],
      notMatching: [{ state: 'INITIALIZING' }, { state: 'initializing' }],
    },
    {
      behaviour: 'matches anything but values fitting a wildcard [operators]',
      pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
      matching: [{ FilePath: '/usr/bin/erasure' }],
      notMatching: [{ FilePath: '/usr/lib/erasure' }],
    },
    {
      behaviour: 'separates customer events from AWS events by the aws. source prefix [filtering]',
      pattern: { source: [{ 'anything-but': { prefix: 'aws.' } }] },
      matching: [{ source: 'com.example.erasure' }],
      notMatching: [{ source: 'aws.kms' }],
    },
  ]);
});

describe('matchesPattern: numeric, IP address, exists and $or', () => {
  checkCases([
    {
      behaviour: 'matches numeric ranges and equality only when every field holds [filtering]',
      pattern: {
        detail: {
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ numeric: ['=', 3.018e2] }],
        },
      },
      matching: [rulerSample, withDetail({ 'c-count': 0.5 })],
      notMatching: [
        withDetail({ 'c-count': 0 }),
        withDetail({ 'c-count': 6 }),
        withDetail({ 'd-count': 10 }),
        withDetail({ 'x-limit': 301.9 }),
        withDetail({ 'c-count': '5' }),
      ],
    },
    {
      behaviour: 'matches IPv4 addresses inside a CIDR block [filtering]',
      pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
      matching: [{ detail: { sourceIPAddress: '10.0.0.0' } }, { detail: { sourceIPAddress: '10.0.0.255' } }],
      notMatching: [{ detail: { sourceIPAddress: '10.0.1.0' } }, { detail: { sourceIPAddress: 'not-an-ip' } }],
    },
    {
      behaviour: 'matches IPv6 addresses inside a CIDR block and never mixes address families',
      pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8::/32' }] } },
      matching: [{ detail: { sourceIPAddress: '2001:db8:0:0:1::1' } }, { detail: { sourceIPAddress: '2001:0db8:ffff::' } }],
      notMatching: [{ detail: { sourceIPAddress: '2001:db9::1' } }, { detail: { sourceIPAddress: '10.0.0.1' } }],
    },
    {
      behaviour: 'matches events that have the field with exists true [filtering]',
      pattern: { detail: { state: [{ exists: true }] } },
      matching: [{ ...ec2Terminated, detail: { 'instance-id': 'i-abcd1111', state: 'pending' } }],
      notMatching: [{ ...ec2Terminated, detail: { 'c-count': { c1: 100 } } }],
    },
    {
      behaviour: 'matches events without the field, or where it is not a leaf, with exists false [filtering]',
      pattern: { detail: { 'c-count': [{ exists: false }] } },
      matching: [
        { detail: { state: ['initializing', 'running'] } },
        { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } },
        { source: 'aws.ec2' },
      ],
      notMatching: [rulerSample],
    },
    {
      behaviour: 'matches when any branch of $or matches [ruler]',
      pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] },
      matching: [
        { source: 'aws.cloudwatch', metricName: 'ReadLatency' },
        { source: 'aws.cloudwatch', namespace: 'AWS/ES' },
      ],
      notMatching: [
        { source: 'aws.cloudwatch', metricName: 'DiskUsage', namespace: 'AWS/S3' },
        { source: 'aws.ec2', metricName: 'CPUUtilization' },
      ],
    },
    {
      behaviour: 'evaluates $or inside a nested object with content filters in each branch [operators]',
      pattern: {
        detail: {
          $or: [
            { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
            { 'd-count': [{ numeric: ['<', 10] }] },
            { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
          ],
        },
      },
      matching: [withDetail({ 'c-count': 50, 'd-count': 3, 'x-limit': 1 }), withDetail({ 'c-count': 50, 'd-count': 30, 'x-limit': 301.8 })],
      notMatching: [withDetail({ 'c-count': 50, 'd-count': 30, 'x-limit': 1 })],
    },
    {
      behaviour: 'combines prefix, anything-but, numeric and cidr filters in one pattern [ruler]',
      pattern: {
        time: [{ prefix: '2017-10-02' }],
        detail: {
          state: [{ 'anything-but': 'initializing' }],
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ 'anything-but': [100, 200, 300] }],
          'source-ip': [{ cidr: '10.0.0.0/8' }],
        },
      },
      matching: [rulerSample],
      notMatching: [withDetail({ 'x-limit': 200 }), withDetail({ 'source-ip': '192.168.0.1' }), { ...rulerSample, time: '2017-10-03T00:00:00Z' }],
    },
  ]);

  it('uses only the last occurrence of a key repeated in the pattern text [filtering]', () => {
    const pattern = parseEventPattern('{ "detail": { "location": [ { "prefix": "us-" } ], "location": [ { "anything-but": "us-east" } ] } }');

    expect(matchesPattern(pattern, { detail: { location: 'eu-west' } })).toBe(true);
    expect(matchesPattern(pattern, { detail: { location: 'us-east' } })).toBe(false);
  });
});

describe('validatePattern', () => {
  it.each([
    ['a pattern that is not JSON', '{ "source": [ "aws.kms" '],
    ['a pattern that is not an object', '[ "aws.kms" ]'],
    ['a field whose value is a bare string', { source: 'aws.kms' }],
    ['an empty list of values', { source: [] }],
    ['an unknown operator', { source: [{ contains: 'kms' }] }],
    ['an operator object with two operators', { source: [{ prefix: 'aws.', suffix: 'kms' }] }],
    ['a numeric filter with a non-numeric bound', { detail: { size: [{ numeric: ['>', 'ten'] }] } }],
    ['a numeric range with two lower bounds', { detail: { size: [{ numeric: ['>', 0, '>=', 5] }] } }],
    ['an unknown numeric operator', { detail: { size: [{ numeric: ['!=', 0] }] } }],
    ['consecutive wildcards', { FileName: [{ wildcard: 'dir/**.png' }] }],
    ['an escape other than \\* or \\\\ in a wildcard', { FileName: [{ wildcard: 'dir\\d' }] }],
    ['a CIDR block without a prefix length', { detail: { ip: [{ cidr: '10.0.0.0' }] } }],
    ['a CIDR prefix longer than the address', { detail: { ip: [{ cidr: '10.0.0.0/33' }] } }],
    ['exists with a value other than true or false', { detail: { state: [{ exists: 'yes' }] } }],
    ['anything-but mixing strings and numbers', { detail: { state: [{ 'anything-but': ['stopped', 1] }] } }],
    ['anything-but with an unsupported nested operator', { detail: { state: [{ 'anything-but': { numeric: ['>', 1] } }] } }],
    ['a nested list as a match value', { source: [['aws.kms']] }],
  ])('rejects %s with InvalidEventPatternException', (_description, pattern) => {
    expect(() => validatePattern(pattern)).toThrowError(expect.objectContaining({ code: 'InvalidEventPatternException' }));
  });

  it('accepts every operator EventBridge documents', () => {
    const pattern = {
      source: ['aws.kms', { prefix: 'aws.' }, { suffix: '.kms' }, { 'equals-ignore-case': 'AWS.KMS' }, { wildcard: 'aws.*' }],
      detail: {
        state: [{ 'anything-but': { prefix: 'init' } }, { exists: true }],
        size: [{ numeric: ['>=', 0, '<', 10] }],
        ip: [{ cidr: '2001:db8::/32' }],
        $or: [{ a: [null] }, { b: [''] }],
      },
    };

    expect(() => validatePattern(pattern)).not.toThrow();
  });
});

function parsePatternText(text: string): JsonObject {
  return JSON.parse(text) as JsonObject;
}
