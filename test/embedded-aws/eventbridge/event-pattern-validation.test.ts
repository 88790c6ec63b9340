import { describe, expect, it } from 'vitest';
import { matchesPattern, parseEventPattern, validatePattern } from '../../../embedded-aws/eventbridge/event-pattern.ts';
import type { JsonObject } from '../../../embedded-aws/protocol.ts';

// The reasons EventBridge gives for a pattern PutRule and TestEventPattern refuse, as the embedded
// EventBridge words them: "Event pattern is not valid. Reason: " and Event Ruler's reason
// (JsonRuleCompiler, WildcardParser, CIDR; see the head of event-pattern.ts and the fidelity tests
// in eventbridge-fidelity.integration.test.ts, which read them through PutRule). AWS then appends
// the JSON parser's location, which the embedded answer leaves out.

const INVALID_PATTERN = 'Event pattern is not valid. Reason: ';

type Case = [description: string, pattern: unknown, reason: string];

/** The name and message a pattern is refused with; fails the test if the pattern is accepted. */
function refusalOf(pattern: unknown): { name: string; message: string } {
  try {
    validatePattern(pattern);
  } catch (error) {
    const { name, message } = error as Error;
    return { name, message };
  }
  throw new Error(`the pattern was accepted; EventBridge refuses it: ${JSON.stringify(pattern)}`);
}

function refusesEach(cases: Case[]): void {
  it.each(cases)('refuses %s', (_description, pattern, reason) => {
    expect(refusalOf(pattern)).toEqual({ name: 'InvalidEventPatternException', message: `${INVALID_PATTERN}${reason}` });
  });
}

/** A pattern accepted by PutRule, then matched against events inside and outside what it selects. */
function expectSelects(pattern: JsonObject, matching: unknown[], notMatching: unknown[]): void {
  expect(() => validatePattern(pattern)).not.toThrow();
  expect(() => validatePattern(JSON.stringify(pattern))).not.toThrow();
  for (const event of matching) expect(matchesPattern(pattern, event), `matches ${JSON.stringify(event)}`).toBe(true);
  for (const event of notMatching) expect(matchesPattern(pattern, event), `does not match ${JSON.stringify(event)}`).toBe(false);
}

const FOUR_DATASYNC_WILDCARDS = ['*/datasync/*.bif', '*/datasync/*.tif', '*/datasync/*.tiff', '*/datasync/*.svs'];
const TOO_COMPLEX = 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

describe('a pattern as a whole', () => {
  it("refuses text that is not JSON with the JSON parser's complaint as the reason", () => {
    const text = '{ "source": [ "aws.kms" ';
    let parserComplaint = '';
    try {
      JSON.parse(text);
    } catch (error) {
      parserComplaint = (error as Error).message;
    }

    expect(parserComplaint).not.toBe('');
    expect(refusalOf(text)).toEqual({ name: 'InvalidEventPatternException', message: `${INVALID_PATTERN}${parserComplaint}` });
  });

  refusesEach([
    ['a JSON array', '["aws.kms"]', 'Filter is not an object'],
    ['JSON null', 'null', 'Filter is not an object'],
    ['a pattern that is not an object', null, 'Filter is not an object'],
    ['an empty pattern', {}, 'Empty objects are not allowed'],
    ['an empty object among fields', { source: ['aws.health'], detail: {} }, 'Empty objects are not allowed'],
    ['an empty list of values', { source: [] }, 'Empty arrays are not allowed'],
    ['a field whose value is a bare string', { detail: { pipeline: { slug: 'some-pipeline' } } }, '"slug" must be an object or an array'],
    ['a field whose value is null', { detail: { reason: null } }, '"reason" must be an object or an array'],
    ['a field whose value is a number', { detail: { attempt: 3 } }, '"attempt" must be an object or an array'],
    ['a list nested in a list of values', { source: [['aws.kms']] }, 'Match value must be String, number, true, false, or null'],
    ['an empty match expression', { source: [{}] }, 'Match expression name not found'],
    ['an unknown match type', { source: [{ contains: 'kms' }] }, 'Unrecognized match type contains'],
    ['a match expression of two operators', { source: [{ prefix: 'aws.', suffix: '.kms' }] }, 'Only one key allowed in match expression'],
    ['a numeric expression with a second operator beside it', { size: [{ numeric: ['>', 0], exists: true }] }, 'Too many elements in numeric expression'],
    ['an anything-but expression with a second operator beside it', { state: [{ 'anything-but': 'stopped', prefix: 'run' }] }, 'Too many elements in numeric expression'],
  ]);

  it('accepts exact values of every JSON scalar type, null included', () => {
    expectSelects({ detail: { reason: ['breach', 7, true, null] } }, [{ detail: { reason: 7 } }, { detail: { reason: null } }, { detail: { reason: true } }], [{ detail: { reason: 'request' } }]);
  });
});

describe('$or', () => {
  it('matches when any of two or more alternatives matches', () => {
    expectSelects(
      { source: ['com.example.erasure'], $or: [{ 'detail-type': ['Erasure Requested'] }, { detail: { reason: ['breach'] } }] },
      [
        { source: 'com.example.erasure', 'detail-type': 'Erasure Requested' },
        { source: 'com.example.erasure', 'detail-type': 'Account Closed', detail: { reason: 'breach' } },
      ],
      [{ source: 'com.example.erasure', 'detail-type': 'Account Closed', detail: { reason: 'request' } }, { source: 'aws.kms', 'detail-type': 'Erasure Requested' }],
    );
  });

  it('reads a list of match expressions under $or as the values of a field named $or', () => {
    expectSelects({ detail: { $or: [{ prefix: 'erasure-' }, { suffix: '-erasure' }] } }, [{ detail: { $or: 'erasure-1' } }, { detail: { $or: 'key-erasure' } }], [{ detail: { reason: 'erasure-1' } }]);
  });

  refusesEach([
    ['$or with a single alternative, read as a field whose value is a match expression', { $or: [{ source: ['aws.kms'] }] }, 'Unrecognized match type source'],
    ['$or with no alternatives', { $or: [] }, 'Empty arrays are not allowed'],
    ['$or whose value is a string', { $or: 'aws.kms' }, '"$or" must be an object or an array'],
    ['$or mixing an alternative with a match expression', { $or: [{ source: ['aws.kms'] }, { prefix: 'aws.' }] }, 'Unrecognized match type source'],
    ['$or whose alternative also holds an operator', { $or: [{ source: ['aws.kms'], prefix: 'aws.' }, { 'detail-type': ['Erasure Requested'] }] }, 'Only one key allowed in match expression'],
    ['alternatives under a field other than $or', { detail: { reason: [{ code: ['breach'] }, { code: ['request'] }] } }, 'Unrecognized match type code'],
  ]);
});

describe('prefix, suffix and equals-ignore-case', () => {
  it('accepts a prefix or suffix compared ignoring case, and equals-ignore-case', () => {
    expectSelects({ source: [{ prefix: { 'equals-ignore-case': 'COM.EXAMPLE.' } }] }, [{ source: 'com.example.erasure' }], [{ source: 'org.example.erasure' }]);
    expectSelects({ source: [{ suffix: { 'equals-ignore-case': '.ERASURE' } }] }, [{ source: 'com.example.Erasure' }], [{ source: 'com.example.erasures' }]);
    expectSelects({ detail: { reason: [{ 'equals-ignore-case': 'BREACH' }] } }, [{ detail: { reason: 'Breach' } }], [{ detail: { reason: 'breaches' } }]);
  });

  refusesEach([
    ['a prefix that is not a string', { source: [{ prefix: 5 }] }, 'prefix match pattern must be a string'],
    ['a suffix that is a list', { source: [{ suffix: ['.kms'] }] }, 'suffix match pattern must be a string'],
    ['a prefix holding an operator other than equals-ignore-case', { source: [{ prefix: { wildcard: 'aws.*' } }] }, 'Unsupported prefix pattern: wildcard'],
    ['a suffix holding an empty object', { source: [{ suffix: {} }] }, 'Unsupported suffix pattern: '],
    ['a prefix ignoring case of a value that is not a string', { source: [{ prefix: { 'equals-ignore-case': 5 } }] }, 'equals-ignore-case match pattern must be a string'],
    ['a prefix ignoring case beside a second operator', { source: [{ prefix: { 'equals-ignore-case': 'aws.', suffix: '.kms' } }] }, 'Only one key allowed in match expression'],
    ['equals-ignore-case of a value that is not a string', { detail: { reason: [{ 'equals-ignore-case': 5 }] } }, 'equals-ignore-case match pattern must be a string'],
  ]);
});

describe('exists', () => {
  it('accepts exists true and exists false', () => {
    expectSelects({ detail: { legalHold: [{ exists: true }] } }, [{ detail: { legalHold: false } }], [{ detail: {} }]);
    expectSelects({ detail: { legalHold: [{ exists: false }] } }, [{ detail: { reason: 'breach' } }], [{ detail: { legalHold: false } }]);
  });

  refusesEach([
    ['exists with a string', { detail: { legalHold: [{ exists: 'yes' }] } }, 'exists match pattern must be either true or false.'],
    ['exists with null', { detail: { legalHold: [{ exists: null }] } }, 'exists match pattern must be either true or false.'],
  ]);
});

describe('anything-but', () => {
  it('accepts a single string or number, or a list of strings or of numbers', () => {
    expectSelects({ detail: { state: [{ 'anything-but': 'initializing' }] } }, [{ detail: { state: 'running' } }], [{ detail: { state: 'initializing' } }]);
    expectSelects({ detail: { attempt: [{ 'anything-but': 0 }] } }, [{ detail: { attempt: 1 } }], [{ detail: { attempt: 0 } }]);
    expectSelects({ detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, [{ detail: { state: 'running' } }], [{ detail: { state: 'overloaded' } }]);
    expectSelects({ detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, [{ detail: { 'x-limit': 150 } }], [{ detail: { 'x-limit': 200 } }]);
  });

  it('accepts anything-but over a prefix, a suffix, equals-ignore-case or a wildcard, one value or a list', () => {
    expectSelects({ source: [{ 'anything-but': { prefix: 'aws.' } }] }, [{ source: 'com.example.erasure' }], [{ source: 'aws.kms' }]);
    expectSelects({ FileName: [{ 'anything-but': { suffix: ['.png', '.jpg'] } }] }, [{ FileName: 'notes.txt' }], [{ FileName: 'photo.jpg' }]);
    expectSelects({ detail: { reason: [{ 'anything-but': { 'equals-ignore-case': ['BREACH', 'Test'] } }] } }, [{ detail: { reason: 'request' } }], [{ detail: { reason: 'breach' } }]);
    expectSelects({ FileName: [{ 'anything-but': { wildcard: 'dir/*.png' } }] }, [{ FileName: 'dir/a.jpg' }], [{ FileName: 'dir/a.png' }]);
  });

  refusesEach([
    ['anything-but of a boolean', { detail: { state: [{ 'anything-but': true }] } }, 'Value of anything-but must be an array or single string/number value.'],
    ['anything-but of null', { detail: { state: [{ 'anything-but': null }] } }, 'Value of anything-but must be an array or single string/number value.'],
    ['anything-but listing null', { detail: { state: [{ 'anything-but': ['stopped', null] }] } }, 'Inside anything but list, start|null|boolean is not supported.'],
    ['anything-but listing a boolean', { detail: { state: [{ 'anything-but': [false] }] } }, 'Inside anything but list, start|null|boolean is not supported.'],
    ['anything-but mixing strings and numbers', { detail: { state: [{ 'anything-but': ['stopped', 1] }] } }, 'Inside anything but list, either all values are number or string, mixed type is not supported'],
    ['anything-but of an empty list', { detail: { state: [{ 'anything-but': [] }] } }, 'Inside anything but list, either all values are number or string, mixed type is not supported'],
    ['anything-but of an empty object', { detail: { state: [{ 'anything-but': {} }] } }, 'Anything-But expression name not found'],
    ['anything-but over numeric', { detail: { size: [{ 'anything-but': { numeric: ['>', 1] } }] } }, 'Unsupported anything-but pattern: numeric'],
    ['anything-but over a prefix that is a number', { source: [{ 'anything-but': { prefix: 5 } }] }, 'Value of anything-but must be an array or single string/number value.'],
    ['anything-but over prefixes listing a number', { source: [{ 'anything-but': { prefix: ['aws.', 5] } }] }, 'prefix/suffix match pattern must be a string'],
    ['anything-but over suffixes listing null', { source: [{ 'anything-but': { suffix: [null] } }] }, 'prefix/suffix match pattern must be a string'],
    ['anything-but ignoring case of a list holding a number', { detail: { reason: [{ 'anything-but': { 'equals-ignore-case': ['breach', 5] } }] } }, 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'],
    ['anything-but over wildcards listing a number', { FileName: [{ 'anything-but': { wildcard: [5] } }] }, 'wildcard match pattern must be a string'],
    ['anything-but over two operators', { source: [{ 'anything-but': { prefix: 'aws.', suffix: '.kms' } }] }, 'Too many elements in numeric expression'],
    ['anything-but with an empty prefix', { source: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed'],
    ['anything-but with an empty suffix in its list', { FileName: [{ 'anything-but': { suffix: ['.png', ''] } }] }, 'Null prefix/suffix not allowed'],
    ['anything-but over a wildcard with consecutive wildcard characters', { FileName: [{ 'anything-but': { wildcard: 'dir/**' } }] }, 'Consecutive wildcard characters at pos 5'],
  ]);
});

describe('numeric', () => {
  it('accepts a single comparison and a range from a lower to a greater upper bound', () => {
    expectSelects({ detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, [{ detail: { 'x-limit': 301.8 } }], [{ detail: { 'x-limit': 301 } }]);
    expectSelects({ detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, [{ detail: { 'c-count': 5 } }], [{ detail: { 'c-count': 0 } }, { detail: { 'c-count': 6 } }]);
    expectSelects({ detail: { size: [{ numeric: ['>=', 5, '<', 5.5] }] } }, [{ detail: { size: 5 } }], [{ detail: { size: 5.5 } }]);
  });

  refusesEach([
    ['numeric of a single string', { detail: { size: [{ numeric: '>' }] } }, 'Value of numeric must be an array.'],
    ['numeric of an empty list', { detail: { size: [{ numeric: [] }] } }, 'Invalid member in numeric match: ]'],
    ['numeric starting with a number', { detail: { size: [{ numeric: [1, 2] }] } }, 'Invalid member in numeric match: 1'],
    ['numeric starting with null', { detail: { size: [{ numeric: [null, 1] }] } }, 'Invalid member in numeric match: null'],
    ['numeric starting with a list', { detail: { size: [{ numeric: [['>'], 1] }] } }, 'Invalid member in numeric match: ['],
    ['numeric starting with an object', { detail: { size: [{ numeric: [{ op: '>' }, 1] }] } }, 'Invalid member in numeric match: {'],
    ['an unknown comparison', { detail: { size: [{ numeric: ['!=', 0] }] } }, 'Unrecognized numeric range operator: !='],
    ['equals with a value that is not a number', { detail: { size: [{ numeric: ['=', 'ten'] }] } }, 'Value of equals must be numeric'],
    ['a lower bound that is not a number', { detail: { size: [{ numeric: ['>', 'ten'] }] } }, 'Value of > must be numeric'],
    ['an upper bound without its value', { detail: { size: [{ numeric: ['<='] }] } }, 'Value of <= must be numeric'],
    ['a range written upper bound first', { detail: { size: [{ numeric: ['<', 10, '>', 0] }] } }, 'Too many elements in numeric expression'],
    ['a range starting with equals', { detail: { size: [{ numeric: ['=', 1, '<', 2] }] } }, 'Too many elements in numeric expression'],
    ['a range whose second operator is a number', { detail: { size: [{ numeric: ['>', 0, 5] }] } }, 'Bad value in numeric range: 5'],
    ['a range whose second operator is a list', { detail: { size: [{ numeric: ['>', 0, ['<'], 5] }] } }, 'Bad value in numeric range: ['],
    ['a range with two lower bounds', { detail: { size: [{ numeric: ['>', 0, '>=', 5] }] } }, 'Bad numeric range operator: >='],
    ['a range whose upper bound is not a number', { detail: { size: [{ numeric: ['>', 0, '<', 'ten'] }] } }, 'Value of < must be numeric'],
    ['a range with a term past its upper bound', { detail: { size: [{ numeric: ['>', 0, '<', 5, 6] }] } }, 'Too many terms in numeric range expression'],
    ['a range whose bottom is above its top', { detail: { size: [{ numeric: ['>', 10, '<=', 5] }] } }, 'Bottom must be less than top'],
    ['a range whose bottom equals its top', { detail: { size: [{ numeric: ['>=', 5, '<=', 5] }] } }, 'Bottom must be less than top'],
  ]);
});

describe('wildcard', () => {
  it('accepts a wildcard that matches any run of characters, line breaks included', () => {
    expectSelects({ FileName: [{ wildcard: 'dir/*.png' }] }, [{ FileName: 'dir/a.png' }, { FileName: 'dir/.png' }, { FileName: 'dir/line\nbreak.png' }], [{ FileName: 'dir/a.jpg' }]);
  });

  it('accepts an escaped asterisk and an escaped backslash as the characters themselves', () => {
    expectSelects({ FileName: [{ wildcard: 'dir/\\*.png' }] }, [{ FileName: 'dir/*.png' }], [{ FileName: 'dir/a.png' }]);
    expectSelects({ FileName: [{ wildcard: 'C:\\\\dir\\\\*' }] }, [{ FileName: 'C:\\dir\\a.png' }], [{ FileName: 'C:/dir/a.png' }]);
  });

  refusesEach([
    ['a wildcard that is not a string', { FileName: [{ wildcard: 5 }] }, 'wildcard match pattern must be a string'],
    ['consecutive wildcard characters, at their position in the quoted value', { FileName: [{ wildcard: 'dir/**.png' }] }, 'Consecutive wildcard characters at pos 5'],
    ['an escape other than \\* and \\\\, at its position in the quoted value', { FileName: [{ wildcard: 'dir\\d' }] }, 'Invalid escape character at pos 4'],
    ['a backslash at the end of a wildcard', { FileName: [{ wildcard: 'dir\\' }] }, 'Invalid escape character at pos 4'],
  ]);
});

describe('cidr', () => {
  it('accepts an IPv4 or IPv6 block with its prefix length', () => {
    expectSelects({ detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } }, [{ detail: { 'source-ip': '10.1.2.3' } }], [{ detail: { 'source-ip': '11.0.0.1' } }]);
    expectSelects({ detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } }, [{ detail: { 'source-ip': '2001:db8::1' } }], [{ detail: { 'source-ip': '2001:db9::1' } }]);
  });

  refusesEach([
    ['a block that is not a string', { detail: { 'source-ip': [{ cidr: 10 }] } }, 'prefix match pattern must be a string'],
    ['a block without a prefix length', { detail: { 'source-ip': [{ cidr: '10.0.0.0' }] } }, "Malformed CIDR, one '/' required"],
    ['a prefix length longer than the address', { detail: { 'source-ip': [{ cidr: '10.0.0.0/33' }] } }, 'Nonstandard IP address: 10.0.0.0'],
  ]);
});

describe('wildcard complexity', () => {
  it('refuses wildcard filters on one field that are too complex to match', () => {
    expect(refusalOf({ detail: { object: { key: FOUR_DATASYNC_WILDCARDS.map((wildcard) => ({ wildcard })) } } })).toEqual({
      name: 'InvalidEventPatternException',
      message: `${INVALID_PATTERN}${TOO_COMPLEX}`,
    });
  });

  it('counts the wildcard filters of one field across the alternatives of $or', () => {
    const pattern = {
      detail: {
        $or: [
          { key: FOUR_DATASYNC_WILDCARDS.slice(0, 2).map((wildcard) => ({ wildcard })) },
          { key: FOUR_DATASYNC_WILDCARDS.slice(2).map((wildcard) => ({ wildcard })) },
        ],
      },
    };

    expect(refusalOf(pattern)).toEqual({ name: 'InvalidEventPatternException', message: `${INVALID_PATTERN}${TOO_COMPLEX}` });
  });

  it('counts each field on its own', () => {
    const pattern = {
      detail: {
        key: FOUR_DATASYNC_WILDCARDS.slice(0, 2).map((wildcard) => ({ wildcard })),
        copy: FOUR_DATASYNC_WILDCARDS.slice(2).map((wildcard) => ({ wildcard })),
      },
    };

    expect(() => validatePattern(pattern)).not.toThrow();
  });

  // Five suffix filters on one field reach the embedded ceiling (complexity 10, wildcard-complexity.ts)
  // without passing it; a sixth passes it.
  it('accepts wildcard filters on one field up to the ceiling, and refuses one more', () => {
    const suffixes = ['*.bif', '*.tiff', '*.tif', '*.svs', '*.png'];

    expectSelects({ FileName: suffixes.map((wildcard) => ({ wildcard })) }, [{ FileName: 'scan.tiff' }], [{ FileName: 'scan.jpg' }]);
    expect(refusalOf({ FileName: [...suffixes, '*.jpg'].map((wildcard) => ({ wildcard })) }).message).toBe(`${INVALID_PATTERN}${TOO_COMPLEX}`);
  });
});

describe('parseEventPattern', () => {
  it('compiles the text PutRule receives as the pattern object would be', () => {
    const pattern = { source: ['com.example.erasure'], detail: { reason: [{ 'anything-but': 'test' }] } };
    const compiled = parseEventPattern(JSON.stringify(pattern));

    expect(matchesPattern(compiled, { source: 'com.example.erasure', detail: { reason: 'breach' } })).toBe(true);
    expect(matchesPattern(compiled, { source: 'com.example.erasure', detail: { reason: 'test' } })).toBe(false);
  });
});
