import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, WORLD_FILE, catalogLines, listCatalog } from '../../../cli/commands/events.ts';
import { matchesPattern } from '../../../embedded-aws/eventbridge/event-pattern.ts';
import type { JsonObject } from '../../../embedded-aws/protocol.ts';
import { printServerlessConfig } from '../../../embedded-aws/deployment/serverless-print.ts';
import { RefusedKmsCall } from '../../../functions/lib/alerts/key-use-alert.ts';
import { ClosureEvent, acceptClosure } from '../../../functions/lib/erasure/closure-event.ts';
import { functionEnvironment } from '../../support/settings.ts';

interface SampleEvent {
  id: string;
  'detail-type': string;
  source: string;
  detail: { subjectId?: string; keyIds?: string[]; resources?: { ARN: string }[] } & Record<string, unknown>;
}

interface WorldKey {
  subjectId: string;
  keyId: string;
  alias: boolean;
  origin: string;
  multiRegion: boolean;
  replicaRegions: string[];
  records: string[];
}

const files = readdirSync('events').filter((file) => file.endsWith('.json')).sort();
const eventFiles = files.filter((file) => file !== WORLD_FILE);
const read = <T>(file: string): T => JSON.parse(readFileSync(join('events', file), 'utf8')) as T;
const world = read<{ keys: WorldKey[] }>(WORLD_FILE);
const closures = eventFiles.filter((file) => CATALOG[file]?.closure !== undefined);
const keyIdOf = (reference: string) => reference.split('/').at(-1)!;
const ownerOf = (reference: string) => world.keys.find((key) => key.keyId === keyIdOf(reference))?.subjectId;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('the events/ catalog', () => {
  it('describes every file in events/, and names no file that is not there', () => {
    expect(Object.keys(CATALOG).sort()).toEqual(files);
  });

  it.each(files)('%s is valid JSON', (file) => {
    expect(() => read(file)).not.toThrow();
  });

  it.each(eventFiles)('%s is a complete EventBridge event, as PutEvents delivers it', (file) => {
    const event = read<Record<string, unknown>>(file);
    expect(Object.keys(event).sort()).toEqual(['account', 'detail', 'detail-type', 'id', 'region', 'resources', 'source', 'time', 'version']);
    expect(EventBridgeSchema.safeParse(event).success).toBe(true);
  });

  it('gives every event its own id, except the duplicate, a redelivery of account-closed.json', () => {
    const ids = eventFiles.filter((file) => file !== 'account-closed-duplicate.json').map((file) => read<SampleEvent>(file).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(read('account-closed-duplicate.json')).toEqual(read('account-closed.json'));
  });

  it.each(closures)('%s passes or fails the closure contract as its expected outcome says', (file) => {
    const event = read<SampleEvent>(file);
    const verdict = CATALOG[file]!.closure;
    const parsed = ClosureEvent.safeParse(event);
    const allowedSources = functionEnvironment.ALLOWED_EVENT_SOURCES!.split(',');

    expect(parsed.success).toBe(verdict !== 'malformed');
    if (verdict === 'accepted') expect(acceptClosure(parsed, allowedSources).eventId).toBe(event.id);
    else expect(() => acceptClosure(parsed, allowedSources)).toThrow(expect.objectContaining({ name: 'ClosureEventInvalid' }));
  });
});

describe('the CloudTrail sample', () => {
  const file = 'kms-decrypt-refused-pending-deletion.json';
  let keyUseRulePattern: JsonObject;

  beforeAll(async () => {
    // The pattern as serverless.yml declares it, read the way the embedded AWS deploys it (osls print).
    const config = await printServerlessConfig(process.cwd(), 'local', 'eu-west-1');
    keyUseRulePattern = config.resources?.Resources?.KeyUsedWhilePendingDeletionRule?.Properties?.EventPattern as JsonObject;
  });

  it("matches KeyUsedWhilePendingDeletionRule's event pattern, and no closure sample does", () => {
    expect(matchesPattern(keyUseRulePattern, read(file))).toBe(true);
    for (const closure of closures) expect(matchesPattern(keyUseRulePattern, read(closure)), closure).toBe(false);
  });

  it('is what alertKeyUse parses: a Decrypt refused because its key is pending deletion', () => {
    const event = read<SampleEvent>(file);
    const parsed = EventBridgeSchema.extend({ detail: RefusedKmsCall }).parse(event);

    expect(event.detail).toMatchObject({ readOnly: true, eventCategory: 'Management', userIdentity: { arn: expect.any(String) } });
    expect(parsed.detail).toMatchObject({ eventName: 'Decrypt', errorCode: 'KMSInvalidStateException' });
    expect(parsed.detail.errorMessage).toBe(`${parsed.detail.resources?.[0]?.ARN} is pending deletion.`);
    expect(parsed.detail.requestParameters?.keyId).toBe(parsed.detail.resources?.[0]?.ARN);
  });

  it('names the key of the subject account-closed.json erases', () => {
    const keyArn = read<SampleEvent>(file).detail.resources![0]!.ARN;
    expect(ownerOf(keyArn)).toBe(read<SampleEvent>('account-closed.json').detail.subjectId);
  });
});

describe('events/world.json', () => {
  it('gives each key a fixed, distinct key id, and the alias to at most one key per subject', () => {
    const keyIds = world.keys.map((key) => key.keyId);
    expect(keyIds.every((keyId) => UUID.test(keyId))).toBe(true);
    expect(new Set(keyIds).size).toBe(keyIds.length);
    const aliased = world.keys.filter((key) => key.alias).map((key) => key.subjectId);
    expect(new Set(aliased).size).toBe(aliased.length);
  });

  it('holds an aliased key for every subject an accepted closure erases, and none for the unknown subject', () => {
    const erased = closures.filter((file) => CATALOG[file]!.closure === 'accepted' && file !== 'account-closed-unknown-subject.json');
    for (const file of erased) {
      const subject = read<SampleEvent>(file).detail.subjectId;
      expect(world.keys.some((key) => key.subjectId === subject && key.alias), file).toBe(true);
    }
    const unknown = read<SampleEvent>('account-closed-unknown-subject.json').detail.subjectId;
    expect(world.keys.filter((key) => key.subjectId === unknown)).toEqual([]);
  });

  it("gives the key the other-subject's-key closure names to another subject", () => {
    const { subjectId, keyIds = [] } = read<SampleEvent>('account-closed-other-subjects-key.json').detail;
    expect(keyIds.length).toBeGreaterThan(0);
    for (const keyId of keyIds) {
      expect(ownerOf(keyId), keyId).toBeDefined();
      expect(ownerOf(keyId), keyId).not.toBe(subjectId);
    }
  });

  it("gives every key the other closures name to their own subject: three more of the tenant's, none holding the alias", () => {
    for (const file of ['account-closed-with-key-ids.json', 'tenant-closed-several-keys.json']) {
      const { subjectId, keyIds = [] } = read<SampleEvent>(file).detail;
      for (const keyId of keyIds) expect(ownerOf(keyId), `${file}: ${keyId}`).toBe(subjectId);
    }
    const tenant = read<SampleEvent>('tenant-closed-several-keys.json').detail;
    const named = world.keys.filter((key) => tenant.keyIds!.map(keyIdOf).includes(key.keyId));
    expect(named).toHaveLength(3);
    expect(named.every((key) => !key.alias)).toBe(true);
  });
});

describe('listCatalog', () => {
  it('lists every file with what it is and what the pipeline does with it', () => {
    const entries = listCatalog('events');
    expect(entries.map((entry) => entry.file)).toEqual(files);
    expect(entries.find((entry) => entry.file === 'account-closed-unknown-subject.json')).toMatchObject({
      kind: 'event',
      what: 'AccountClosed from com.example.accounts: subject user-9999',
      outcome: expect.stringContaining('SubjectHasNoKey'),
    });
    expect(entries.find((entry) => entry.file === WORLD_FILE)).toMatchObject({ kind: 'world', what: 'world: 7 keys of 4 subjects' });
  });

  it('lists a file that is not valid JSON as unreadable, not a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erasure-events-'));
    writeFileSync(join(dir, 'broken.json'), '{ "detail-type": ');
    writeFileSync(join(dir, 'account-closed.json'), readFileSync('events/account-closed.json'));

    const entries = listCatalog(dir);

    expect(entries.map((entry) => [entry.file, entry.kind])).toEqual([
      ['account-closed.json', 'event'],
      ['broken.json', 'unreadable'],
    ]);
    expect(catalogLines(entries)[1]).toMatch(/^broken\.json {10}unreadable: not valid JSON/);
  });

  it('refuses a folder that does not exist as bad input', () => {
    expect(() => listCatalog(join(tmpdir(), 'no-such-folder-for-erasure-events'))).toThrow(expect.objectContaining({ kind: 'badInput' }));
  });
});
