import { describe, expect, it } from 'vitest';
import { executionName, fingerprintSubject, subjectAlias } from '../../../functions/lib/erasure/subject.ts';

describe('subject identity', () => {
  it('fingerprints a subject the same way every time, and differently from another', () => {
    expect(fingerprintSubject('user-1')).toBe(fingerprintSubject('user-1'));
    expect(fingerprintSubject('user-1')).not.toBe(fingerprintSubject('user-2'));
    expect(fingerprintSubject('user-1')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps the published fingerprint scheme, which upstream systems compute to correlate', () => {
    // SHA-256 of "crypto-erasure:subject:v1:user-4821", first 32 hex digits (README.md).
    expect(fingerprintSubject('user-4821')).toBe('15e9c06633a006c8f7612e17ec3e379d');
  });

  it('names executions within Step Functions rules and without the subject id', () => {
    const name = executionName(fingerprintSubject('user-1'), 3);
    expect(name).toMatch(/^[0-9A-Za-z_-]{1,80}$/);
    expect(name).not.toContain('user-1');
    expect(name.endsWith('-3')).toBe(true);
  });

  it('gives the first attempt the bare name, so a redelivery finds it', () => {
    expect(executionName('abc', 1)).toBe('erasure-abc');
  });

  it("builds the subject's alias under the prefix", () => {
    expect(subjectAlias('alias/erasure/subject', 'user-1')).toBe('alias/erasure/subject/user-1');
  });
});
