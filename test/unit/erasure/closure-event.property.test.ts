import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClosureEvent, acceptClosure } from '../../../functions/lib/erasure/closure-event.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';

const SOURCES = ['com.example.accounts', 'com.example.tenants'];
const sample = JSON.parse(readFileSync('events/account-closed.json', 'utf8')) as Record<string, unknown>;
const closure = (detail: Record<string, unknown>, source = SOURCES[0]) => ({ ...sample, source, detail });
const accept = (event: unknown) => acceptClosure(ClosureEvent.safeParse(event), SOURCES);

const SUBJECT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const subjectId = fc.string({ unit: fc.constantFrom(...SUBJECT_ALPHABET), minLength: 1, maxLength: 200 });
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: length, maxLength: length });
const keyUuid = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((parts) => parts.join('-'));
const keyId = fc.oneof(keyUuid, hex(32).map((digits) => `mrk-${digits}`));
const keyReference = fc.oneof(
  keyId,
  fc.tuple(fc.constantFrom('aws', 'aws-us-gov', 'aws-cn'), fc.constantFrom('eu-west-1', 'us-east-1', 'ap-southeast-2'), hex(12).map((digits) => digits.replace(/[a-f]/g, '7')), keyId)
    .map(([partition, region, account, id]) => `arn:${partition}:kms:${region}:${account}:key/${id}`),
);
const closedAt = fc
  .tuple(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }), fc.constantFrom('Z', '+02:00', '-05:30'))
  .map(([date, offset]) => date.toISOString().replace('Z', offset));
const detail = fc.record(
  { subjectId, closedAt, reason: fc.string({ maxLength: 1000 }), keyIds: fc.array(keyReference, { maxLength: 50 }) },
  { requiredKeys: ['subjectId', 'closedAt'] },
);

describe('accepting a closure, for any closure event', () => {
  it('turns a well-formed closure from an allowed source into a request for that subject, naming each key once', () => {
    fc.assert(
      fc.property(detail, fc.constantFrom(...SOURCES), (closed, source) => {
        const request = accept(closure(closed, source));

        expect(request).toMatchObject({ subjectId: closed.subjectId, subjectFingerprint: fingerprintSubject(closed.subjectId), source, closedAt: closed.closedAt, reason: closed.reason ?? null });
        expect(request.keyIds).toEqual([...new Set(closed.keyIds ?? [])]);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps the first mention of a key named twice in its place', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyReference, { minLength: 2, maxLength: 10 }), fc.nat(), (keyIds, pick) => {
        const repeated = keyIds[pick % keyIds.length]!;
        expect(accept(closure({ subjectId: 'user-1', closedAt: '2026-11-20T09:29:41Z', keyIds: [...keyIds, repeated] })).keyIds).toEqual(keyIds);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a closure from any source it was not told to trust', () => {
    const foreign = fc.string({ minLength: 1, maxLength: 40 }).filter((source) => !SOURCES.includes(source));
    fc.assert(
      fc.property(detail, foreign, (closed, source) => {
        expect(() => accept(closure(closed, source))).toThrow(
          expect.objectContaining({ name: 'ClosureEventInvalid', message: 'source: not an allowed closure source' }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a subject id outside the alias alphabet without repeating it', () => {
    const personal = fc
      .tuple(fc.stringMatching(/^[a-z]{3,12}$/), fc.stringMatching(/^[a-z]{3,12}$/), fc.constantFrom('@', '/', ' ', '.', ':'))
      .map(([local, domain, separator]) => `${local}${separator}${domain}`);
    fc.assert(
      fc.property(personal, closedAt, (id, closed) => {
        let refusal: Error | undefined;
        try {
          accept(closure({ subjectId: id, closedAt: closed }));
        } catch (error) {
          refusal = error as Error;
        }
        expect(refusal).toMatchObject({ name: 'ClosureEventInvalid', message: expect.stringContaining('detail.subjectId') });
        expect(refusal?.message).not.toContain(id);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a key named by alias, by a bare name or with the wrong digits, naming keyIds', () => {
    const notAKey = fc.oneof(
      fc.stringMatching(/^[a-z0-9/_-]{1,40}$/).map((name) => `alias/${name}`),
      keyUuid.map((id) => id.toUpperCase()).filter((id) => /[A-F]/.test(id)),
      keyUuid.map((id) => `${id}0`),
      hex(31).map((digits) => `mrk-${digits}`),
    );
    fc.assert(
      fc.property(fc.array(keyReference, { maxLength: 5 }), notAKey, (keyIds, bad) => {
        expect(() => accept(closure({ subjectId: 'user-1', closedAt: '2026-11-20T09:29:41Z', keyIds: [...keyIds, bad] }))).toThrow(
          expect.objectContaining({ name: 'ClosureEventInvalid', message: expect.stringContaining('detail.keyIds') }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('refuses more than 50 keys, or a reason over 1000 characters', () => {
    fc.assert(
      fc.property(fc.array(keyReference, { minLength: 51, maxLength: 60 }), (keyIds) => {
        expect(() => accept(closure({ subjectId: 'user-1', closedAt: '2026-11-20T09:29:41Z', keyIds }))).toThrow(expect.objectContaining({ name: 'ClosureEventInvalid' }));
      }),
      { numRuns: 20 },
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1001, maxLength: 1100 }), (reason) => {
        expect(() => accept(closure({ subjectId: 'user-1', closedAt: '2026-11-20T09:29:41Z', reason }))).toThrow(
          expect.objectContaining({ name: 'ClosureEventInvalid', message: expect.stringContaining('detail.reason') }),
        );
      }),
      { numRuns: 20 },
    );
  });
});
