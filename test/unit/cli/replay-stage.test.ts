import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_ATTEMPTS,
  readReplayInput,
  replayToStage,
  type ReplayEvent,
  type ReplayStage,
  type ReplayStageDeps,
  type ReplayStageOptions,
} from '../../../cli/commands/replay-stage.ts';
import { CliError, EXIT, exitCodeOf } from '../../../cli/exit-codes.ts';
import { noProgress } from '../../../cli/progress-bar.ts';
import { fingerprintSubject } from '../../../functions/lib/erasure/subject.ts';
import { KmsDouble, arnOf, throttled } from '../../support/kms-double.ts';
import { ACCOUNT_ID, REGION, keyPolicy } from '../../support/settings.ts';

const eventBridge = mockClient(EventBridgeClient);
let kms: KmsDouble;

beforeEach(() => {
  kms = new KmsDouble();
});
afterEach(() => {
  eventBridge.reset();
  kms.restore();
});

const staging: ReplayStage = {
  name: 'staging',
  region: REGION,
  accountId: ACCOUNT_ID,
  closureBusName: 'crypto-erasure-closures-staging',
  protected: false,
  keyPolicy,
  allowedEventSources: ['com.example.accounts'],
};

function closure(subjectId: string, detail: Record<string, unknown> = {}): ReplayEvent['event'] {
  return { 'detail-type': 'AccountClosed', source: 'com.example.accounts', detail: { subjectId, closedAt: '2026-11-20T09:29:41Z', ...detail } };
}

function closures(count: number): ReplayEvent[] {
  return Array.from({ length: count }, (_, index) => ({ origin: `closures.jsonl:${index + 1}`, event: closure(`user-${index}`) }));
}

function subjectIdOf(entry: PutEventsRequestEntry): string {
  return JSON.parse(entry.Detail ?? '{}').subjectId;
}

/** EventBridge accepting every entry, except those `failEntry` names an error code for. */
function answerPutEvents(failEntry: (entry: PutEventsRequestEntry, call: number) => string | undefined = () => undefined): void {
  let call = 0;
  let sequence = 0;
  eventBridge.on(PutEventsCommand).callsFake(({ Entries = [] }: { Entries?: PutEventsRequestEntry[] }) => {
    call += 1;
    const results: PutEventsResultEntry[] = Entries.map((entry) => {
      const errorCode = failEntry(entry, call);
      return errorCode ? { ErrorCode: errorCode, ErrorMessage: `${errorCode} for this entry` } : { EventId: `eb-${(sequence += 1)}` };
    });
    return { FailedEntryCount: results.filter((result) => result.ErrorCode).length, Entries: results };
  });
}

function putEventsCalls(): PutEventsRequestEntry[][] {
  return eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
}

async function replay(events: ReplayEvent[], options: Partial<ReplayStageOptions> = {}, deps: Partial<ReplayStageDeps> = {}) {
  const printed: string[] = [];
  const delays: number[] = [];
  const outcome = await replayToStage(events, { stage: staging, yes: true, ...options }, {
    eventBridge: new EventBridgeClient({ region: REGION }),
    kms: new KMSClient({ region: REGION }),
    prompt: undefined,
    progress: noProgress,
    sleep: async (milliseconds) => {
      delays.push(milliseconds);
    },
    print: (line) => printed.push(line),
    random: () => 0.5,
    ...deps,
  });
  return { outcome, printed, delays };
}

async function refusal(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
}

describe('replayToStage', () => {
  it('puts 23 events in batches of 10, 10 and 3 on the closure bus', async () => {
    answerPutEvents();
    const { outcome, printed } = await replay(closures(23));

    expect(putEventsCalls().map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(putEventsCalls()[0]![0]).toEqual({
      EventBusName: 'crypto-erasure-closures-staging',
      Source: 'com.example.accounts',
      DetailType: 'AccountClosed',
      Detail: JSON.stringify(closure('user-0').detail),
    });
    expect(outcome).toMatchObject({ sent: 23, failed: 0 });
    expect(printed[0]).toBe(`closures.jsonl:1  ${fingerprintSubject('user-0')}  sent as eb-1`);
    expect(printed.at(-1)).toBe('23 sent, 0 failed');
  });

  it('never prints a subject id, in lines or in JSON', async () => {
    answerPutEvents();
    const human = await replay(closures(3));
    const json = await replay(closures(3), { json: true });
    expect([...human.printed, ...json.printed].join('\n')).not.toMatch(/user-\d/);
  });

  it('prints one JSON object per event, then the summary, with --json', async () => {
    answerPutEvents();
    const { printed } = await replay([{ origin: 'a.json', event: { ...closure('user-1'), id: 'upstream-1' } }], { json: true });
    expect(printed.map((line) => JSON.parse(line))).toEqual([
      { event: 'upstream-1', subject: fingerprintSubject('user-1'), sentAs: 'eb-1' },
      { summary: { sent: 1, failed: 0 } },
    ]);
  });

  it('sends the event time and resources along when the replayed event has them', async () => {
    answerPutEvents();
    await replay([{ origin: 'a.json', event: { ...closure('user-1'), time: '2026-11-20T09:30:00Z', resources: ['arn:aws:iam::111122223333:user/x'] } }]);
    expect(putEventsCalls()[0]![0]).toMatchObject({ Time: new Date('2026-11-20T09:30:00Z'), Resources: ['arn:aws:iam::111122223333:user/x'] });
  });

  it('retries only the entries that failed, by index', async () => {
    answerPutEvents((entry, call) => (call === 1 && ['user-2', 'user-7'].includes(subjectIdOf(entry)) ? 'ThrottlingException' : undefined));
    const { outcome, delays } = await replay(closures(10));

    expect(putEventsCalls().map((entries) => entries.map(subjectIdOf))).toEqual([closures(10).map(({ event }) => event.detail.subjectId), ['user-2', 'user-7']]);
    expect(outcome).toMatchObject({ sent: 10, failed: 0 });
    expect(delays).toHaveLength(1);
  });

  it('retries a throttled call with exponential backoff and jitter, bounded by the cap', async () => {
    eventBridge.on(PutEventsCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] });
    const { outcome, delays } = await replay(closures(1));

    expect(outcome).toMatchObject({ sent: 1, failed: 0 });
    expect(putEventsCalls()).toHaveLength(4);
    // Full jitter (here the middle of the range) over 200 ms doubling: 100, 200, 400.
    expect(delays).toEqual([100, 200, 400]);
    expect(delays.every((delay) => delay >= 0 && delay <= 20_000)).toBe(true);
  });

  it('keeps every wait under the exponential ceiling whatever the jitter draws', async () => {
    answerPutEvents(() => 'InternalFailure');
    const { delays } = await replay(closures(1), {}, { random: Math.random });
    delays.forEach((delay, retry) => expect(delay).toBeLessThan(Math.min(20_000, 200 * 2 ** retry)));
  });

  it('reports an entry that fails 8 times, and the replay as failed', async () => {
    answerPutEvents((entry) => (subjectIdOf(entry) === 'user-0' ? 'InternalFailure' : undefined));
    const { outcome, printed, delays } = await replay(closures(3));

    expect(outcome).toMatchObject({ sent: 2, failed: 1 });
    expect(putEventsCalls().filter((entries) => entries.some((entry) => subjectIdOf(entry) === 'user-0'))).toHaveLength(MAX_ATTEMPTS);
    expect(delays).toHaveLength(MAX_ATTEMPTS - 1);
    expect(printed[0]).toBe(`closures.jsonl:1  ${fingerprintSubject('user-0')}  FAILED after 8 attempts: InternalFailure: InternalFailure for this entry`);
    expect(printed.at(-1)).toBe('2 sent, 1 failed');
  });

  it('does not retry an entry EventBridge will refuse again', async () => {
    answerPutEvents(() => 'NotAuthorizedForSourceException');
    const { outcome } = await replay(closures(2));
    expect(putEventsCalls()).toHaveLength(1);
    expect(outcome).toMatchObject({ sent: 0, failed: 2 });
  });

  it('refuses a protected stage without --force, and sends nothing', async () => {
    answerPutEvents();
    const error = await refusal(replay(closures(2), { stage: { ...staging, name: 'prod', protected: true } }));
    expect(exitCodeOf(error)).toBe(EXIT.refused);
    expect(error.message).toMatch(/stage prod is protected.*--force/);
    expect(putEventsCalls()).toHaveLength(0);
  });

  it('replays to a protected stage with --force', async () => {
    answerPutEvents();
    const { outcome } = await replay(closures(2), { stage: { ...staging, name: 'prod', protected: true }, force: true });
    expect(outcome).toMatchObject({ sent: 2, failed: 0 });
  });

  it('refuses without --yes when there is no terminal to ask on', async () => {
    answerPutEvents();
    const error = await refusal(replay(closures(2), { yes: false }, { prompt: undefined }));
    expect(exitCodeOf(error)).toBe(EXIT.refused);
    expect(error.message).toMatch(/no terminal.*--yes/);
    expect(putEventsCalls()).toHaveLength(0);
  });

  it('asks on a terminal, and replays only once the stage name is typed', async () => {
    answerPutEvents();
    const questions: string[] = [];
    const ask = (answer: string) => async (question: string) => {
      questions.push(question);
      return answer;
    };

    const error = await refusal(replay(closures(2), { yes: false }, { prompt: ask('yes') }));
    expect(exitCodeOf(error)).toBe(EXIT.refused);
    expect(putEventsCalls()).toHaveLength(0);

    const { outcome } = await replay(closures(2), { yes: false }, { prompt: ask('staging\n') });
    expect(outcome).toMatchObject({ sent: 2 });
    expect(questions[0]).toBe(
      `Replay 2 closure events to stage staging (account ${ACCOUNT_ID}, Region ${REGION})? Their subjects' keys will be scheduled for deletion. Type the stage name to confirm: `,
    );
  });

  describe('--dry-run', () => {
    it("sends nothing, and tells the keys a closure would erase and the refusals the pipeline would make", async () => {
      const own = kms.addKey({ subjectId: 'user-1' });
      kms.addKey({ subjectId: 'user-2' });
      const another = kms.addKey({ subjectId: 'user-3' });
      const events: ReplayEvent[] = [
        { origin: 'good.json', event: closure('user-1') },
        { origin: 'foreign.json', event: closure('user-2', { keyIds: [another.keyId] }) },
        { origin: 'nokey.json', event: closure('user-9') },
        { origin: 'broken.json', event: closure('user-1', { closedAt: 'yesterday' }) },
      ];
      const { outcome, printed } = await replay(events, { dryRun: true, yes: false, stage: { ...staging, protected: true } });

      expect(putEventsCalls()).toHaveLength(0);
      expect(outcome.results).toEqual([
        { event: 'good.json', subject: fingerprintSubject('user-1'), wouldErase: [arnOf(own)] },
        { event: 'foreign.json', subject: fingerprintSubject('user-2'), refused: { outcome: 'KeyNotOwnedBySubject', message: expect.stringContaining(arnOf(another)) } },
        { event: 'nokey.json', subject: fingerprintSubject('user-9'), refused: { outcome: 'SubjectHasNoKey', message: expect.any(String) } },
        { event: 'broken.json', subject: fingerprintSubject('user-1'), refused: { outcome: 'ClosureEventInvalid', message: expect.stringContaining('detail.closedAt') } },
      ]);
      expect(printed[0]).toBe(`good.json  ${fingerprintSubject('user-1')}  would erase ${arnOf(own)}`);
      expect(printed[1]).toMatch(/^foreign\.json {2}\w{32} {2}refused: KeyNotOwnedBySubject: /);
      expect(printed.at(-1)).toBe('dry run, nothing sent: 1 would erase keys, 3 would be refused');
      expect(printed.join('\n')).not.toMatch(/user-\d/);
      expect(kms.calls('DisableKey') + kms.calls('ScheduleKeyDeletion')).toBe(0);
    });
  });
});

describe('readReplayInput', () => {
  const directory = mkdtempSync(join(tmpdir(), 'replay-input-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(directory, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };

  it('reads a file holding one event', () => {
    const path = file('one.json', JSON.stringify(closure('user-1'), null, 2));
    expect(readReplayInput([path])).toEqual([{ origin: path, event: closure('user-1') }]);
  });

  it('reads a file holding an array of events', () => {
    const path = file('array.json', JSON.stringify([closure('user-1'), closure('user-2')]));
    expect(readReplayInput([path]).map(({ origin }) => origin)).toEqual([`${path}[0]`, `${path}[1]`]);
  });

  it('reads JSON lines, one event a line, skipping blank lines', () => {
    const path = file('lines.jsonl', `${JSON.stringify(closure('user-1'))}\n\n${JSON.stringify(closure('user-2'))}\n`);
    expect(readReplayInput([path])).toEqual([
      { origin: `${path}:1`, event: closure('user-1') },
      { origin: `${path}:3`, event: closure('user-2') },
    ]);
  });

  it("reads a directory's *.json files in name order", () => {
    file('dir/b.json', JSON.stringify(closure('user-b')));
    file('dir/a.json', JSON.stringify(closure('user-a')));
    file('dir/notes.txt', 'not an event');
    expect(readReplayInput([join(directory, 'dir')]).map(({ event }) => event.detail.subjectId)).toEqual(['user-a', 'user-b']);
  });

  it('refuses a missing file as bad input, naming it', () => {
    const path = join(directory, 'missing.json');
    const error = (() => {
      try {
        readReplayInput([path]);
      } catch (caught) {
        return caught as CliError;
      }
    })();
    expect(error?.kind).toBe('badInput');
    expect(exitCodeOf(error)).toBe(EXIT.badInput);
    expect(error?.message).toBe(`cannot read ${path}: no such file or directory`);
  });

  it('refuses invalid JSON, naming the file and the line', () => {
    const path = file('broken.json', '{\n  "detail-type": "AccountClosed",\n  "source" "com.example.accounts"\n}\n');
    expect(() => readReplayInput([path])).toThrow(expect.objectContaining({ kind: 'badInput', message: expect.stringMatching(new RegExp(`^${escape(path)}:3: invalid JSON`)) }));
  });

  it('refuses an invalid JSON line, naming the file and the line', () => {
    const path = file('broken.jsonl', `${JSON.stringify(closure('user-1'))}\n{"source": }\n`);
    expect(() => readReplayInput([path])).toThrow(expect.objectContaining({ kind: 'badInput', message: expect.stringMatching(new RegExp(`^${escape(path)}:2: invalid JSON`)) }));
  });

  it('refuses an entry that is not an EventBridge event', () => {
    const path = file('not-an-event.json', JSON.stringify([closure('user-1'), { source: 'com.example.accounts', detail: {} }]));
    expect(() => readReplayInput([path])).toThrow(expect.objectContaining({ kind: 'badInput', message: `${path}[1]: not an EventBridge event (no detail-type; an event needs detail-type, source and an object detail)` }));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
