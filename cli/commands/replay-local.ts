import { existsSync, readFileSync } from 'node:fs';
import { CreateAliasCommand, KMSClient, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { z } from 'zod';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import type { EventBridgeEvent } from '../../embedded-aws/eventbridge/embedded-event-bridge.ts';
import { kmsKeys } from '../../functions/lib/aws/kms-keys.ts';
import { ledgerTable } from '../../functions/lib/aws/ledger-table.ts';
import { readKeyPolicy } from '../../functions/lib/erasure/settings.ts';
import { SUBJECT_ID_PATTERN, fingerprintSubject, type SubjectFingerprint } from '../../functions/lib/erasure/subject.ts';
import { erasureLedger, type Ledger } from '../../functions/lib/ledger/ledger.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CliError } from '../exit-codes.ts';
import { decryptRecord, encryptRecord, subjectKeyring } from '../demo/envelope-encryption.ts';

/**
 * `erasure replay` on the embedded AWS: a world of keys (with subject tags, aliases, replicas and
 * sample records encrypted under them) is set up, the events are delivered onto their buses as
 * they are, ids included (so a redelivery is a redelivery), and every erasure runs to its end on
 * the virtual clock. Then each event is reported as the ledger, KMS and the topics tell it.
 */
export const DEFAULT_WORLD = 'events/world.json';

const World = z.object({
  keys: z.array(
    z.object({
      subjectId: z.string().regex(SUBJECT_ID_PATTERN, 'subject ids are 1 to 200 characters of A-Z, a-z, 0-9, _ and -'),
      // KMS key ids are UUID-shaped, not necessarily RFC 4122 version UUIDs (AWS's documented example is 1234abcd-12ab-34cd-56ef-1234567890ab).
      keyId: z.guid().optional(),
      alias: z.boolean().default(true),
      origin: z.literal('AWS_KMS').default('AWS_KMS'),
      multiRegion: z.boolean().default(false),
      replicaRegions: z.array(z.string()).default([]),
      records: z.array(z.string()).default([]),
    }),
  ),
});
export type World = z.infer<typeof World>;

export type ReplayOutcome = 'completed' | 'cancelled' | 'held' | 'duplicate' | 'rejected' | 'failed' | 'alerted' | 'ignored';

export interface ReplayedEvent {
  origin: string;
  eventId: string;
  subject: string | null;
  outcome: ReplayOutcome;
  reason: string | null;
  erasure: string | null;
  certificateId: string | null;
  keys: { keyArn: string; keyState: string }[];
  /** Of the world's records under the subject's keys, how many still decrypt. */
  records: { readable: number; total: number } | null;
}

export interface ReplayReport {
  events: ReplayedEvent[];
  summary: Partial<Record<ReplayOutcome, number>>;
}

export interface ReplayInputEvent {
  origin: string;
  event: Record<string, unknown>;
}

export interface LocalReplayOptions {
  world?: string;
  /** Called as events are delivered and erasures end: a progress bar, or nothing. */
  progress?: (done: number, total: number, phase: 'delivering' | 'running' | 'reporting') => void;
}

export function readWorld(file: string | undefined): World {
  const path = file ?? DEFAULT_WORLD;
  if (file === undefined && !existsSync(path)) return { keys: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError('badInput', `cannot read the world ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const world = World.safeParse(parsed);
  if (!world.success) {
    throw new CliError('badInput', `the world ${path} is not valid: ${world.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return world.data;
}

export async function runLocalReplay(inputs: ReplayInputEvent[], options: LocalReplayOptions = {}): Promise<ReplayReport> {
  const world = readWorld(options.world);
  const aws = await startEmbeddedAws({
    // The daily key audit would run thirty times across a 30-day replay, over every key of the
    // world: it is not what a replay is about.
    params: { auditSchedule: 'rate(365 days)' },
    environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
    log: () => undefined,
    console: () => undefined,
  });
  try {
    const records = await buildWorld(aws, world);
    const closureBus = aws.nameOf('ClosureEventBus');
    const { region, accountId } = aws.deployment;
    for (const [index, input] of inputs.entries()) {
      const event = asDelivered(input.event, accountId, region, aws.clock.now());
      // Upstream systems publish on the closure bus; aws.* events are what AWS itself puts on the
      // default bus (a CloudTrail record, a KMS deletion).
      aws.events.redeliver(event, event.source.startsWith('aws.') ? 'default' : closureBus);
      input.event = event as unknown as Record<string, unknown>;
      options.progress?.(index + 1, inputs.length, 'delivering');
    }
    options.progress?.(0, inputs.length, 'running');
    // Dead letters are read as they come: SQS keeps them 14 days, and the erasures run for 30.
    const deadLetters = new Map<string, Record<string, unknown>>();
    const collect = () => {
      for (const letter of aws.queues.messages(aws.arnOf('ClosureDeadLetterQueue'))) deadLetters.set(letter.messageId, letter.body);
    };
    await aws.runToCompletion({ beforeEachJump: collect });
    await aws.idle();
    collect();
    return await report(aws, inputs, records, [...deadLetters.values()], options);
  } finally {
    await aws.close();
  }
}

type RecordsByKey = Map<string, { messages: Buffer[]; subject: SubjectFingerprint }>;

async function buildWorld(aws: EmbeddedAws, world: World): Promise<RecordsByKey> {
  const kms = new KMSClient(aws.clientConfig);
  const { subjectTagKey, aliasPrefix } = readKeyPolicy();
  const scope = { accountId: aws.deployment.accountId, region: aws.deployment.region };
  const records: RecordsByKey = new Map();
  for (const declared of world.keys) {
    const key = aws.kms.deployKey(scope, {
      keyId: declared.keyId ?? (declared.multiRegion ? `mrk-${crypto.randomUUID().replaceAll('-', '')}` : crypto.randomUUID()),
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      description: 'replay world key',
      tags: [{ TagKey: subjectTagKey, TagValue: declared.subjectId }],
      multiRegion: declared.multiRegion,
      enabled: true,
    });
    if (declared.alias) await kms.send(new CreateAliasCommand({ AliasName: `${aliasPrefix}/${declared.subjectId}`, TargetKeyId: key.keyId }));
    for (const replicaRegion of declared.replicaRegions) await kms.send(new ReplicateKeyCommand({ KeyId: key.keyId, ReplicaRegion: replicaRegion }));
    const keyring = subjectKeyring(aws.clientConfig, key.arn);
    const subject = fingerprintSubject(declared.subjectId);
    const messages: Buffer[] = [];
    for (const record of declared.records) messages.push(await encryptRecord(keyring, subject, record));
    records.set(key.arn, { messages, subject });
  }
  return records;
}

/** The event as EventBridge delivers it, with whatever a hand-written sample leaves out filled in. */
function asDelivered(event: Record<string, unknown>, accountId: string, region: string, now: Date): EventBridgeEvent {
  return {
    version: '0',
    id: typeof event.id === 'string' && event.id.length > 0 ? event.id : crypto.randomUUID(),
    'detail-type': String(event['detail-type'] ?? ''),
    source: String(event.source ?? ''),
    account: accountId,
    time: typeof event.time === 'string' ? event.time : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: Array.isArray(event.resources) ? event.resources.map(String) : [],
    detail: (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as Record<string, unknown>,
  };
}

async function report(
  aws: EmbeddedAws,
  inputs: ReplayInputEvent[],
  records: RecordsByKey,
  deadLetters: Record<string, unknown>[],
  options: LocalReplayOptions,
): Promise<ReplayReport> {
  const ledger: Ledger = erasureLedger(ledgerTable(new DynamoDBClient(aws.clientConfig), aws.nameOf('LedgerTable')), () => aws.clock.now());
  const kms = kmsKeys(aws.clientConfig);
  const onCall = aws.sns.published(aws.arnOf('OnCallAlertsTopic')).map((message) => JSON.parse(message.message) as Record<string, unknown>);
  const seen = new Set<string>();
  const events: ReplayedEvent[] = [];

  for (const [index, input] of inputs.entries()) {
    const event = input.event as unknown as EventBridgeEvent;
    const subjectId = (event.detail as { subjectId?: unknown }).subjectId;
    const subject = typeof subjectId === 'string' && SUBJECT_ID_PATTERN.test(subjectId) ? fingerprintSubject(subjectId) : null;
    const base = { origin: input.origin, eventId: event.id, subject, reason: null, erasure: null, certificateId: null, keys: [], records: null };
    options.progress?.(index + 1, inputs.length, 'reporting');

    if (seen.has(event.id)) {
      events.push({ ...base, outcome: 'duplicate', reason: 'the same event id was delivered before: written once in the ledger' });
      continue;
    }
    seen.add(event.id);

    const letter = deadLetters.find((candidate) => candidate.eventId === event.id);
    if (letter) {
      events.push({ ...base, outcome: 'rejected', reason: String(letter.reason ?? letter.error ?? 'dead-lettered') });
      continue;
    }
    if (event.source.startsWith('aws.')) {
      const alert = onCall.find((message) => message.cloudTrailEventId === event.id);
      events.push({ ...base, outcome: alert ? 'alerted' : 'ignored', reason: alert ? String(alert.eventType) : 'no rule of the pipeline acted on it' });
      continue;
    }
    if (!subject) {
      events.push({ ...base, outcome: 'ignored', reason: 'not a closure the pipeline acts on' });
      continue;
    }

    const record = await ledger.read(subject);
    const declined = record.entries.find((entry) => entry.event.type === 'ClosureDeclined' && entry.event.eventId === event.id)?.event;
    const erasure = record.erasures.find((candidate) => candidate.closureEventId === event.id);
    const keys = [];
    let readable = 0;
    let total = 0;
    for (const keyArn of erasure?.keys ?? []) {
      const key = await kms.describeKey(keyArn);
      keys.push({ keyArn, keyState: key?.keyState ?? 'Deleted' });
      const sealed = records.get(keyArn);
      const keyring = subjectKeyring(aws.clientConfig, keyArn);
      for (const message of sealed?.messages ?? []) {
        total++;
        const decrypted = await decryptRecord(keyring, sealed!.subject, message).then(() => true, () => false);
        if (decrypted) readable++;
      }
    }
    const found = { ...base, erasure: erasure?.erasure ?? null, certificateId: erasure?.certificateId ?? null, keys, records: total > 0 ? { readable, total } : null };
    if (declined?.type === 'ClosureDeclined') {
      const outcome: ReplayOutcome = declined.because === 'AlreadyErased' ? 'duplicate' : 'held';
      events.push({ ...found, outcome, reason: declined.because });
    } else if (!erasure) {
      const running = record.erasures.at(-1);
      events.push({ ...found, outcome: 'duplicate', erasure: running?.erasure ?? null, reason: running ? 'the subject\'s erasure was already under way' : 'no erasure recorded' });
    } else if (erasure.status === 'completed' || erasure.status === 'cancelled') {
      events.push({ ...found, outcome: erasure.status, reason: erasure.endReason });
    } else {
      events.push({ ...found, outcome: 'failed', reason: erasure.endReason ?? erasure.status });
    }
  }

  const summary: ReplayReport['summary'] = {};
  for (const event of events) summary[event.outcome] = (summary[event.outcome] ?? 0) + 1;
  return { events, summary };
}

/** The report as lines: for people, one aligned line per event and a summary; for machines, JSON lines. */
export function replayLines(report: ReplayReport, json: boolean): string[] {
  if (json) return [...report.events.map((event) => JSON.stringify(event)), JSON.stringify({ summary: report.summary })];
  const width = Math.max(...report.events.map((event) => event.origin.length), 6);
  return [
    ...report.events.map((event) => {
      const keys = event.keys.map((key) => `${key.keyArn.split('/').at(-1)} ${key.keyState}`).join(', ');
      const records = event.records ? `, records readable ${event.records.readable}/${event.records.total}` : '';
      const certificate = event.certificateId ? `, certificate ${event.certificateId}` : '';
      return [
        event.origin.padEnd(width),
        (event.subject ?? '-').slice(0, 12).padEnd(12),
        event.outcome.padEnd(9),
        `${event.reason ?? ''}${keys ? `${event.reason ? '; ' : ''}keys ${keys}` : ''}${records}${certificate}`,
      ].join('  ');
    }),
    `${report.events.length} events: ${Object.entries(report.summary).map(([outcome, count]) => `${count} ${outcome}`).join(', ')}`,
  ];
}
