import { createInterface } from 'node:readline/promises';
import { setTimeout as wait } from 'node:timers/promises';
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import { classifyFailure } from '../../functions/lib/aws/failures.ts';
import { kmsKeys, type KmsKeys } from '../../functions/lib/aws/kms-keys.ts';
import { ClosureEvent, acceptClosure } from '../../functions/lib/erasure/closure-event.ts';
import { ErasureError, TransientAwsError } from '../../functions/lib/erasure/errors.ts';
import { resolveErasureKeys } from '../../functions/lib/erasure/key-authorisation.ts';
import type { KeyPolicy } from '../../functions/lib/erasure/settings.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { EXIT, CliError } from '../exit-codes.ts';
import { terminalProgress, type Progress } from '../progress-bar.ts';
import { resolveTarget, type TargetOptions } from '../target.ts';
import type { ClosureEventLike, ReplayEvent } from './replay-input.ts';

export { readReplayInput, type ClosureEventLike, type ReplayEvent } from './replay-input.ts';

/** The deployed stage a replay sends to, as `resolveTarget` finds it from serverless.yml. */
export interface ReplayStage {
  name: string;
  region: string;
  accountId: string;
  closureBusName: string;
  protected: boolean;
  keyPolicy: KeyPolicy;
  allowedEventSources: string[];
}

export interface ReplayStageOptions {
  stage: ReplayStage;
  /** Skip the confirmation: for scripts, which have no terminal to type the stage name on. */
  yes?: boolean;
  /** Replay to a protected stage. */
  force?: boolean;
  /** Send nothing: show the keys each closure would erase, or why it would be refused. */
  dryRun?: boolean;
  json?: boolean;
}

export interface ReplayStageDeps {
  eventBridge: EventBridgeClient;
  /** A configuration reaches a multi-Region key's replicas in their own Regions; one client, its own Region only. */
  kms: KMSClient | KMSClientConfig;
  /** Asks a question on the terminal and resolves to the answer; undefined when there is no terminal. */
  prompt: ((question: string) => Promise<string>) | undefined;
  progress: Progress;
  sleep: (milliseconds: number) => Promise<void>;
  /** Writes one line of the command's output. */
  print: (line: string) => void;
  /** [0, 1), for the backoff's jitter. */
  random?: () => number;
  now?: () => Date;
}

export type StageReplayResult =
  | { event: string; subject: string | null; sentAs: string }
  | { event: string; subject: string | null; failed: { errorCode: string; errorMessage: string; attempts: number } }
  | { event: string; subject: string | null; wouldErase: string[] }
  | { event: string; subject: string | null; refused: { outcome: string; message: string } };

export interface StageReplayOutcome {
  results: StageReplayResult[];
  sent: number;
  failed: number;
}

// EventBridge quotas: at most 10 entries per PutEvents call.
export const PUT_EVENTS_BATCH_SIZE = 10;
export const MAX_ATTEMPTS = 8;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 20_000;
// The entry error codes EventBridge documents as retryable (PutEventsResultEntry); the others
// (AccessDeniedException, MalformedDetail, NotAuthorizedForSourceException...) fail the same way again.
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure']);

/**
 * Replays closure events to a deployed stage's closure bus. Each one that reaches intake erases
 * its subject, so the replay asks first (the stage name typed on a terminal, or --yes), refuses a
 * protected stage without --force, and --dry-run shows instead what each closure would erase.
 */
export async function replayToStage(events: ReplayEvent[], options: ReplayStageOptions, deps: ReplayStageDeps): Promise<StageReplayOutcome> {
  if (options.dryRun) return dryRun(events, options, deps);
  await confirm(events.length, options, deps);

  const pending = events.map((replayed) => ({ replayed, entry: putEventsEntry(replayed.event, options.stage.closureBusName) }));
  const results: StageReplayResult[] = [];
  deps.progress.start(events.length);
  try {
    for (let start = 0; start < pending.length; start += PUT_EVENTS_BATCH_SIZE) {
      const batch = pending.slice(start, start + PUT_EVENTS_BATCH_SIZE);
      const outcomes = await putBatch(batch.map(({ entry }) => entry), deps);
      batch.forEach(({ replayed }, index) => {
        const outcome = outcomes[index]!;
        const about = { event: labelOf(replayed), subject: subjectOf(replayed.event) };
        results.push('eventId' in outcome ? { ...about, sentAs: outcome.eventId } : { ...about, failed: outcome });
      });
      deps.progress.advance(batch.length);
    }
  } finally {
    deps.progress.stop();
  }

  const outcome = { results, sent: results.filter((result) => 'sentAs' in result).length, failed: results.filter((result) => 'failed' in result).length };
  for (const result of results) deps.print(options.json ? JSON.stringify(result) : humanLine(result));
  deps.print(options.json ? JSON.stringify({ summary: { sent: outcome.sent, failed: outcome.failed } }) : `${outcome.sent} sent, ${outcome.failed} failed`);
  return outcome;
}

async function confirm(count: number, options: ReplayStageOptions, deps: ReplayStageDeps): Promise<void> {
  const { stage } = options;
  const what = `${count} closure event${count === 1 ? '' : 's'}`;
  if (stage.protected && !options.force) {
    throw new CliError('refused', `stage ${stage.name} is protected: replaying ${what} there schedules keys for deletion; nothing was sent (--force replays anyway)`);
  }
  if (options.yes) return;
  if (!deps.prompt) {
    throw new CliError('refused', `replaying ${what} to stage ${stage.name} needs confirmation, and there is no terminal to ask on; nothing was sent (--yes confirms)`);
  }
  const answer = await deps.prompt(
    `Replay ${what} to stage ${stage.name} (account ${stage.accountId}, Region ${stage.region})? Their subjects' keys will be scheduled for deletion. Type the stage name to confirm: `,
  );
  if (answer.trim() !== stage.name) throw new CliError('refused', `not confirmed (the stage name was not typed): nothing was sent`);
}

function putEventsEntry(event: ClosureEventLike, eventBusName: string): PutEventsRequestEntry {
  return {
    EventBusName: eventBusName,
    Source: event.source,
    DetailType: event['detail-type'],
    Detail: JSON.stringify(event.detail),
    ...(typeof event.time === 'string' ? { Time: new Date(event.time) } : {}),
    ...(Array.isArray(event.resources) && event.resources.length > 0 ? { Resources: event.resources } : {}),
  };
}

type EntryOutcome = { eventId: string } | { errorCode: string; errorMessage: string; attempts: number };

/**
 * One batch, retried until every entry is accepted or has had MAX_ATTEMPTS: a call throttled or
 * failing server-side is retried whole; a call that succeeds with FailedEntryCount > 0 is retried
 * with its retryable failed entries only (the response's entries match the request's by index),
 * so an accepted event is never sent twice. Backoff is exponential with full jitter.
 */
async function putBatch(entries: PutEventsRequestEntry[], deps: ReplayStageDeps): Promise<EntryOutcome[]> {
  const outcomes: EntryOutcome[] = new Array(entries.length);
  let pending = entries.map((_, index) => index);
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    let response;
    try {
      response = await deps.eventBridge.send(new PutEventsCommand({ Entries: pending.map((index) => entries[index]!) }));
    } catch (error) {
      const failure = { errorCode: (error as Error).name || 'Error', errorMessage: (error as Error).message ?? String(error), attempts: attempt };
      if (!(classifyFailure(error) instanceof TransientAwsError) || attempt >= MAX_ATTEMPTS) {
        for (const index of pending) outcomes[index] = failure;
        return outcomes;
      }
      await deps.sleep(backoff(attempt, deps.random ?? Math.random));
      continue;
    }
    const retry: number[] = [];
    pending.forEach((index, position) => {
      const result = response.Entries?.[position];
      if (result?.EventId) {
        outcomes[index] = { eventId: result.EventId };
      } else if (result?.ErrorCode && RETRYABLE_ENTRY_ERRORS.has(result.ErrorCode) && attempt < MAX_ATTEMPTS) {
        retry.push(index);
      } else {
        outcomes[index] = {
          errorCode: result?.ErrorCode ?? 'NoResult',
          errorMessage: result?.ErrorMessage ?? 'EventBridge answered with no result for this entry',
          attempts: attempt,
        };
      }
    });
    pending = retry;
    if (pending.length > 0) await deps.sleep(backoff(attempt, deps.random ?? Math.random));
  }
  return outcomes;
}

/** The wait before retry number `retry` (1 after the first attempt): full jitter over base·2^(retry-1), capped. */
export function backoff(retry: number, random: () => number): number {
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (retry - 1)));
}

async function dryRun(events: ReplayEvent[], options: ReplayStageOptions, deps: ReplayStageDeps): Promise<StageReplayOutcome> {
  const { stage } = options;
  // Read-only: the adapter's two lookups, so a dry run cannot reach a call that changes a key.
  const kms: Pick<KmsKeys, 'describeKey' | 'tagValue'> = kmsKeys(deps.kms);
  const now = deps.now ?? (() => new Date());
  const results: StageReplayResult[] = [];
  deps.progress.start(events.length);
  try {
    for (const replayed of events) {
      const about = { event: labelOf(replayed), subject: subjectOf(replayed.event) };
      try {
        // EventBridge fills in the envelope of an event put without one; validate what intake would receive.
        const received = { version: '0', id: 'replayed', account: stage.accountId, time: now().toISOString(), region: stage.region, resources: [], ...replayed.event };
        const request = acceptClosure(ClosureEvent.safeParse(received), stage.allowedEventSources);
        const keys = await resolveErasureKeys(kms, request, stage.keyPolicy, stage.accountId);
        results.push({ ...about, wouldErase: keys.map((key) => key.keyArn) });
      } catch (error) {
        if (!(error instanceof ErasureError)) throw error;
        results.push({ ...about, refused: { outcome: error.name, message: error.message } });
      }
      deps.progress.advance(1);
    }
  } finally {
    deps.progress.stop();
  }

  const wouldErase = results.filter((result) => 'wouldErase' in result).length;
  const refused = results.length - wouldErase;
  for (const result of results) deps.print(options.json ? JSON.stringify(result) : humanLine(result));
  deps.print(
    options.json
      ? JSON.stringify({ summary: { dryRun: true, wouldErase, refused } })
      : `dry run, nothing sent: ${wouldErase} would erase keys, ${refused} would be refused`,
  );
  return { results, sent: 0, failed: 0 };
}

function labelOf({ event, origin }: ReplayEvent): string {
  return typeof event.id === 'string' && event.id !== '' ? event.id : origin;
}

/** The subject's fingerprint: a subject id is personal data and is never printed. */
function subjectOf(event: ClosureEventLike): string | null {
  const subjectId = event.detail.subjectId;
  return typeof subjectId === 'string' ? fingerprintSubject(subjectId) : null;
}

function humanLine(result: StageReplayResult): string {
  const head = `${result.event}  ${result.subject ?? '(no subject id)'}`;
  if ('sentAs' in result) return `${head}  sent as ${result.sentAs}`;
  if ('failed' in result) return `${head}  FAILED after ${result.failed.attempts} attempt${result.failed.attempts === 1 ? '' : 's'}: ${result.failed.errorCode}: ${result.failed.errorMessage}`;
  if ('wouldErase' in result) return `${head}  would erase ${result.wouldErase.join(', ')}`;
  return `${head}  refused: ${result.refused.outcome}: ${result.refused.message}`;
}

/**
 * `erasure replay <paths...> --stage <s>`: the stage and its settings as serverless.yml resolves
 * them, the AWS credential chain's clients, a prompt when there is a terminal to ask on. Returns
 * the exit code: failed when an event could not be sent.
 */
export async function runStageReplay(events: ReplayEvent[], options: TargetOptions & Omit<ReplayStageOptions, 'stage'>): Promise<number> {
  const target = await resolveTarget({ endpoint: options.endpoint, stage: options.stage, region: options.region });
  const stage: ReplayStage = {
    name: target.stage,
    region: target.region,
    accountId: target.accountId,
    closureBusName: target.resources.closureBusName,
    protected: target.settings.protected,
    keyPolicy: target.settings.keyPolicy,
    allowedEventSources: target.settings.allowedEventSources,
  };
  const outcome = await replayToStage(events, { ...options, stage }, {
    eventBridge: target.clients.eventBridge,
    kms: target.clientConfig,
    prompt: process.stdin.isTTY && process.stderr.isTTY ? askOnTerminal : undefined,
    progress: terminalProgress(options.dryRun ? 'checking' : 'replaying', options),
    sleep: (milliseconds) => wait(milliseconds),
    print: (line) => process.stdout.write(`${line}\n`),
  });
  return outcome.failed > 0 ? EXIT.failed : EXIT.success;
}

async function askOnTerminal(question: string): Promise<string> {
  // On stderr, like the progress bar: stdout carries only the replay's report.
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}
