import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SUBJECT_ID_PATTERN, executionName, fingerprintSubject, stageOption, subjectAlias } from '../../../functions/lib/erasure/subject.ts';

const SUBJECT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const subjectId = fc.string({ unit: fc.constantFrom(...SUBJECT_ALPHABET), minLength: 1, maxLength: 200 });

describe('subject identity, for any subject id', () => {
  it('fingerprints a subject as 32 lower-case hex digits, the same every time', () => {
    fc.assert(
      fc.property(subjectId, (id) => {
        expect(fingerprintSubject(id)).toMatch(/^[0-9a-f]{32}$/);
        expect(fingerprintSubject(id)).toBe(fingerprintSubject(id));
      }),
      { numRuns: 200 },
    );
  });

  it('gives two subjects two fingerprints', () => {
    fc.assert(
      fc.property(fc.uniqueArray(subjectId, { minLength: 2, maxLength: 20 }), (ids) => {
        expect(new Set(ids.map(fingerprintSubject)).size).toBe(ids.length);
      }),
      { numRuns: 100 },
    );
  });

  it('never shows the subject id in its fingerprint or its execution names', () => {
    // Short ids of hex digits, or of the letters of "erasure-", could appear in a name by chance; an
    // id with an upper-case letter or an underscore cannot, unless it leaked.
    const readableId = subjectId.filter((id) => /[A-Z_]/.test(id));
    fc.assert(
      fc.property(readableId, fc.integer({ min: 1, max: 1000 }), (id, attempt) => {
        expect(fingerprintSubject(id)).not.toContain(id);
        expect(executionName(fingerprintSubject(id), attempt)).not.toContain(id);
      }),
      { numRuns: 200 },
    );
  });

  it('names every attempt within Step Functions rules, each attempt its own name, the first one bare', () => {
    fc.assert(
      fc.property(subjectId, fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: 2, maxLength: 10 }), (id, attempts) => {
        const fingerprint = fingerprintSubject(id);
        const names = attempts.map((attempt) => executionName(fingerprint, attempt));
        for (const name of names) expect(name).toMatch(/^[0-9A-Za-z_-]{1,80}$/);
        expect(new Set(names).size).toBe(attempts.length);
        expect(executionName(fingerprint, 1)).toBe(`erasure-${fingerprint}`);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps one subject's alias from naming another's path", () => {
    fc.assert(
      fc.property(subjectId, (id) => {
        expect(SUBJECT_ID_PATTERN.test(id)).toBe(true);
        expect(subjectAlias('alias/erasure/subject', id).split('/')).toEqual(['alias', 'erasure', 'subject', id]);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a subject id with a slash or any character outside the alias alphabet, or over 200 characters', () => {
    const outside = fc.string({ minLength: 1, maxLength: 3 }).filter((text) => /[^A-Za-z0-9_-]/.test(text));
    fc.assert(
      fc.property(subjectId, outside, fc.nat(), (id, foreign, at) => {
        const position = at % (id.length + 1);
        expect(SUBJECT_ID_PATTERN.test(id.slice(0, position) + foreign + id.slice(position))).toBe(false);
      }),
      { numRuns: 200 },
    );
    expect(SUBJECT_ID_PATTERN.test('a'.repeat(200))).toBe(true);
    expect(SUBJECT_ID_PATTERN.test('a'.repeat(201))).toBe(false);
    expect(SUBJECT_ID_PATTERN.test('')).toBe(false);
  });

  it("tells a runbook reader the stage to name, and nothing for the embedded AWS's local stage", () => {
    expect(stageOption('local')).toBe('');
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((stage) => stage !== 'local'), (stage) => {
        expect(stageOption(stage)).toBe(` --stage ${stage}`);
      }),
      { numRuns: 50 },
    );
  });
});
