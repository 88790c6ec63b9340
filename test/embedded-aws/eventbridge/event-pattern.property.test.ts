import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../embedded-aws/eventbridge/event-pattern.ts';
import type { JsonObject } from '../../../embedded-aws/protocol.ts';

// Properties of the documented semantics (EventBridge User Guide, "Event patterns", "Content
// filtering", "Arrays in event patterns"; Event Ruler's README): the expected answer of each is
// worked out here from the documented rule, independently of how the matcher compiles patterns.
// A small alphabet makes matches and near misses both frequent.

const text = fc.string({ unit: fc.constantFrom('a', 'b', 'A', 'B', '-', '.'), maxLength: 5 });
const scalar = fc.oneof(text, fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null));
const number = fc.integer({ min: -20, max: 20 });

const closure = (detail: JsonObject): JsonObject => ({ source: 'com.example.accounts', 'detail-type': 'AccountClosed', detail });

/** A `*` matches any run of characters, including none; every other character matches itself. */
function wildcardMatches(pattern: string, value: string): boolean {
  if (pattern === '') return value === '';
  if (pattern[0] === '*') return [...Array(value.length + 1).keys()].some((skip) => wildcardMatches(pattern.slice(1), value.slice(skip)));
  return value[0] === pattern[0] && wildcardMatches(pattern.slice(1), value.slice(1));
}

describe('event-pattern matching, for any event', () => {
  it('matches a field whose value equals one of the listed values, and no other', () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 4 }), scalar, (listed, value) => {
        expect(matchesPattern({ detail: { reason: listed } }, closure({ reason: value }))).toBe(listed.some((entry) => entry === value));
      }),
      { numRuns: 200 },
    );
  });

  it('matches an array in the event when any of its elements matches', () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 3 }), fc.array(scalar, { minLength: 1, maxLength: 4 }), (listed, values) => {
        expect(matchesPattern({ detail: { reason: listed } }, closure({ reason: values }))).toBe(values.some((value) => listed.includes(value)));
      }),
      { numRuns: 200 },
    );
  });

  it('never matches a field the event does not have, unless the pattern asks for its absence', () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 3 }), scalar, (listed, other) => {
        expect(matchesPattern({ detail: { reason: listed } }, closure({ note: other }))).toBe(false);
        expect(matchesPattern({ detail: { reason: [{ exists: false }] } }, closure({ note: other }))).toBe(true);
        expect(matchesPattern({ detail: { reason: [...listed, { exists: false }] } }, closure({ note: other }))).toBe(true);
        expect(matchesPattern({ detail: { reason: [{ exists: true }] } }, closure({ note: other }))).toBe(false);
        expect(matchesPattern({ detail: { note: [{ exists: true }] } }, closure({ note: other }))).toBe(true);
        expect(matchesPattern({ detail: { note: [{ exists: false }] } }, closure({ note: other }))).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('matches prefix, suffix and equals-ignore-case as the words say', () => {
    fc.assert(
      fc.property(text.filter((affix) => affix !== ''), text, (affix, value) => {
        const lower = (s: string) => s.toLowerCase();
        const event = closure({ reason: value });
        expect(matchesPattern({ detail: { reason: [{ prefix: affix }] } }, event)).toBe(value.startsWith(affix));
        expect(matchesPattern({ detail: { reason: [{ suffix: affix }] } }, event)).toBe(value.endsWith(affix));
        expect(matchesPattern({ detail: { reason: [{ prefix: { 'equals-ignore-case': affix } }] } }, event)).toBe(lower(value).startsWith(lower(affix)));
        expect(matchesPattern({ detail: { reason: [{ suffix: { 'equals-ignore-case': affix } }] } }, event)).toBe(lower(value).endsWith(lower(affix)));
        expect(matchesPattern({ detail: { reason: [{ 'equals-ignore-case': affix }] } }, event)).toBe(lower(value) === lower(affix));
      }),
      { numRuns: 200 },
    );
  });

  it('never matches a number or a boolean by a string operator', () => {
    fc.assert(
      fc.property(text.filter((affix) => affix !== ''), fc.oneof(number, fc.boolean()), (affix, value) => {
        for (const operator of [{ prefix: affix }, { suffix: affix }, { 'equals-ignore-case': affix }, { wildcard: `*${affix}*` }]) {
          expect(matchesPattern({ detail: { reason: [operator] } }, closure({ reason: value }))).toBe(false);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('matches a wildcard where each * stands for any run of characters', () => {
    const wildcard = fc.string({ unit: fc.constantFrom('a', 'b', '-', '*'), maxLength: 6 }).filter((pattern) => !pattern.includes('**'));
    fc.assert(
      fc.property(wildcard, fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 6 }), (pattern, value) => {
        expect(matchesPattern({ detail: { reason: [{ wildcard: pattern }] } }, closure({ reason: value }))).toBe(wildcardMatches(pattern, value));
      }),
      { numRuns: 300 },
    );
  });

  it('matches anything but the listed strings, when the field is there', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), text, (excluded, value) => {
        expect(matchesPattern({ detail: { reason: [{ 'anything-but': excluded }] } }, closure({ reason: value }))).toBe(!excluded.includes(value));
        expect(matchesPattern({ detail: { reason: [{ 'anything-but': excluded }] } }, closure({ note: value }))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('matches anything but a prefix only for values that do not start with it', () => {
    fc.assert(
      fc.property(text.filter((affix) => affix !== ''), text, (affix, value) => {
        expect(matchesPattern({ detail: { reason: [{ 'anything-but': { prefix: affix } }] } }, closure({ reason: value }))).toBe(!value.startsWith(affix));
        expect(matchesPattern({ detail: { reason: [{ 'anything-but': { suffix: affix } }] } }, closure({ reason: value }))).toBe(!value.endsWith(affix));
      }),
      { numRuns: 200 },
    );
  });

  it('matches a number within a numeric range, bounds included only where the operator says', () => {
    fc.assert(
      fc.property(number, number, fc.constantFrom('>', '>='), fc.constantFrom('<', '<='), number, (a, b, lower, upper, value) => {
        fc.pre(a < b);
        const above = lower === '>' ? value > a : value >= a;
        const below = upper === '<' ? value < b : value <= b;
        expect(matchesPattern({ detail: { count: [{ numeric: [lower, a, upper, b] }] } }, closure({ count: value }))).toBe(above && below);
        expect(matchesPattern({ detail: { count: [{ numeric: ['=', a] }] } }, closure({ count: value }))).toBe(value === a);
        expect(matchesPattern({ detail: { count: [{ numeric: [upper, b] }] } }, closure({ count: value }))).toBe(below);
        expect(matchesPattern({ detail: { count: [{ numeric: [lower, a] }] } }, closure({ count: value }))).toBe(above);
        expect(matchesPattern({ detail: { count: [{ numeric: [lower, a] }] } }, closure({ count: String(value) }))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('needs every field of the pattern to match (AND), and one alternative of $or', () => {
    const field = fc.array(scalar, { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(field, field, scalar, scalar, (first, second, reason, note) => {
        const event = closure({ reason, note });
        const matchesFirst = matchesPattern({ detail: { reason: first } }, event);
        const matchesSecond = matchesPattern({ detail: { note: second } }, event);
        expect(matchesPattern({ detail: { reason: first, note: second } }, event)).toBe(matchesFirst && matchesSecond);
        expect(matchesPattern({ detail: { $or: [{ reason: first }, { note: second }] } }, event)).toBe(matchesFirst || matchesSecond);
        expect(matchesPattern({ $or: [{ detail: { reason: first } }, { detail: { note: second } }] }, event)).toBe(matchesFirst || matchesSecond);
      }),
      { numRuns: 200 },
    );
  });

  it('matches fields inside an array of objects only when one element matches them all', () => {
    const element = fc.record({ keyState: fc.constantFrom('Enabled', 'Disabled', 'PendingDeletion'), region: fc.constantFrom('eu-west-1', 'us-east-1') });
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), element, (keys, wanted) => {
        const pattern = { detail: { keys: { keyState: [wanted.keyState], region: [wanted.region] } } };
        const expected = keys.some((key) => key.keyState === wanted.keyState && key.region === wanted.region);
        expect(matchesPattern(pattern, closure({ keys }))).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same answer for a pattern and for its JSON text', () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 1, maxLength: 3 }), scalar, (listed, value) => {
        const pattern = { detail: { reason: listed } };
        expect(matchesPattern(JSON.stringify(pattern), closure({ reason: value }))).toBe(matchesPattern(pattern, closure({ reason: value })));
      }),
      { numRuns: 50 },
    );
  });
});
