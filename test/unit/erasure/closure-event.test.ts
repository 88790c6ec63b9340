import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClosureEvent, acceptClosure } from '../../../functions/lib/erasure/closure-event.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';

const sample = () => JSON.parse(readFileSync('events/account-closed.json', 'utf8')) as Record<string, unknown>;
const accept = (event: unknown, sources = ['com.example.accounts']) => acceptClosure(ClosureEvent.safeParse(event), sources);

describe('acceptClosure', () => {
  it('turns the sample event into an erasure request', () => {
    expect(accept(sample())).toEqual({
      subjectId: 'user-4821',
      subjectFingerprint: fingerprintSubject('user-4821'),
      eventId: '7f2a1c3e-5b8d-4e6f-9a0b-1c2d3e4f5a6b',
      source: 'com.example.accounts',
      closedAt: '2026-11-20T09:29:41Z',
      reason: 'customer-request',
      keyIds: [],
    });
  });

  it('keeps the key ids the event names, without duplicates', () => {
    const event = JSON.parse(readFileSync('events/account-closed-with-key-ids.json', 'utf8'));
    event.detail.keyIds.push(event.detail.keyIds[0]);
    expect(accept(event).keyIds).toEqual(['1234abcd-12ab-34cd-56ef-1234567890ab']);
  });

  it('refuses the malformed sample with ClosureEventInvalid naming each bad field', () => {
    const event = JSON.parse(readFileSync('events/account-closed-malformed.json', 'utf8'));
    expect(() => accept(event)).toThrow(expect.objectContaining({ name: 'ClosureEventInvalid', message: expect.stringMatching(/detail\.subjectId.*detail\.closedAt/s) }));
  });

  it('never repeats the bad value in its refusal', () => {
    const event = sample();
    (event.detail as Record<string, unknown>).subjectId = 'jane.doe@example.com';
    expect(() => accept(event)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('jane.doe') }));
  });

  it('refuses an event from a source that is not allowed', () => {
    expect(() => accept({ ...sample(), source: 'com.example.attacker' })).toThrow(
      expect.objectContaining({ name: 'ClosureEventInvalid', message: expect.stringContaining('not an allowed closure source') }),
    );
  });

  it('refuses another detail-type', () => {
    expect(() => accept({ ...sample(), 'detail-type': 'AccountOpened' })).toThrow(expect.objectContaining({ name: 'ClosureEventInvalid' }));
  });

  it('refuses an alias among the key ids', () => {
    const event = sample();
    (event.detail as Record<string, unknown>).keyIds = ['alias/erasure/subject/user-2'];
    expect(() => accept(event)).toThrow(expect.objectContaining({ name: 'ClosureEventInvalid', message: expect.stringContaining('keyIds') }));
  });

  it('refuses something that is not an event at all', () => {
    expect(() => accept('AccountClosed')).toThrow(expect.objectContaining({ name: 'ClosureEventInvalid' }));
  });

  it('names the event itself as at fault when the whole of it is wrong', () => {
    expect(() => accept('AccountClosed')).toThrow(expect.objectContaining({ message: expect.stringMatching(/^malformed AccountClosed event: \(event\): .+/) }));
  });

  it("gives the parser's own message when it reports no field at fault", () => {
    expect(() => acceptClosure({ success: false, error: { message: 'Unexpected token } in JSON' } }, ['com.example.accounts'])).toThrow(
      expect.objectContaining({ name: 'ClosureEventInvalid', message: 'malformed AccountClosed event: Unexpected token } in JSON' }),
    );
  });

  it('calls an event unreadable when the parser says nothing about it', () => {
    expect(() => acceptClosure({ success: false, error: {} }, ['com.example.accounts'])).toThrow(
      expect.objectContaining({ name: 'ClosureEventInvalid', message: 'malformed AccountClosed event: unreadable event' }),
    );
  });

  it('separates the fields at fault with semicolons', () => {
    const event = JSON.parse(readFileSync('events/account-closed-malformed.json', 'utf8'));
    expect(() => accept(event)).toThrow(expect.objectContaining({ message: expect.stringMatching(/^malformed AccountClosed event: (\S+: [^;]+; )+\S+: [^;]+$/) }));
  });
});
