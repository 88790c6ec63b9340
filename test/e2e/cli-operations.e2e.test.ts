import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_CREDENTIALS } from '../../embedded-aws/embedded-aws.ts';
import { fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { erasure, localServer, type LocalServer } from '../support/cli.ts';
import { createSubjectKey, keyStateOf, sampleClosure } from '../support/embedded.ts';

/** The operator's commands as a user types them: spawned, their output and exit codes read. */
async function run(args: string[]) {
  const command = erasure(args);
  return { code: await command.exit, output: command.output() };
}

describe('erasure replay, locally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'erasure-replay-'));

  it('replays the catalog on a fresh embedded AWS and reports each event, with --json for machines', async () => {
    const { code, output } = await run(['replay', 'events/', '--json']);
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    const summary = lines.at(-1)?.summary;
    const byFile = Object.fromEntries(lines.slice(0, -1).map((line) => [line.origin.replace('events/', ''), line]));
    expect(byFile['account-closed-with-key-ids.json']).toMatchObject({ outcome: 'completed', certificateId: expect.stringMatching(/^cert-/), records: { readable: 0 } });
    expect(byFile['account-closed-malformed.json']).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('detail.closedAt') });
    expect(byFile['account-closed-other-subjects-key.json']).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('KeyNotOwnedBySubject'), keys: [] });
    expect(byFile['kms-decrypt-refused-pending-deletion.json']).toMatchObject({ outcome: 'alerted' });
    expect(summary).toMatchObject({ completed: 3, rejected: 3, duplicate: 1 });
    expect(output).not.toContain('user-4821');
    expect(code).toBe(0);
  }, 120_000);

  it('answers a missing file and invalid JSON with one line and exit 2', async () => {
    writeFileSync(join(dir, 'broken.json'), '{ "detail-type": ');
    for (const [args, message] of [
      [['replay', join(dir, 'missing.json')], 'missing.json: no such file'],
      [['replay', join(dir, 'broken.json')], 'broken.json'],
    ] as const) {
      const { code, output } = await run([...args]);
      expect(output).toContain(message);
      expect(output.trim().split('\n')).toHaveLength(1);
      expect(code).toBe(2);
    }
  });
});

describe('status, hold, cancel and release against `erasure local`', () => {
  let server: LocalServer;
  let endpoint: string;
  let kms: KMSClient;

  beforeAll(async () => {
    server = await localServer();
    endpoint = server.endpoint;
    kms = new KMSClient({ endpoint, region: 'eu-west-1', credentials: EMBEDDED_CREDENTIALS });
  }, 60_000);
  afterAll(async () => server?.stop());

  it('follows an erasure through a hold, a release, and a refused second release', async () => {
    const key = await createSubjectKey(kms, 'cli-ops');
    const eventBridge = new EventBridgeClient({ endpoint, region: 'eu-west-1', credentials: EMBEDDED_CREDENTIALS });
    await eventBridge.send(
      new PutEventsCommand({ Entries: [{ EventBusName: 'crypto-erasure-closures-local', Source: 'com.example.accounts', DetailType: 'AccountClosed', Detail: JSON.stringify(sampleClosure('cli-ops').detail) }] }),
    );
    for (let tries = 0; (await keyStateOf(kms, key.keyId)) !== 'PendingDeletion'; tries++) {
      if (tries > 200) throw new Error('the key was never scheduled for deletion');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const target = ['--endpoint', endpoint];

    const erasing = await run(['status', 'cli-ops', ...target]);
    expect(erasing.output).toContain(`subject ${fingerprintSubject('cli-ops')}: erasing`);
    expect(erasing.output).toMatch(/key \S+: PendingDeletion, deletion \S+ \(30 days left\)/);
    expect(erasing.output).toContain('notified: scheduled');
    expect(erasing.code).toBe(0);

    const held = await run(['hold', '--fingerprint', fingerprintSubject('cli-ops'), '--reason', 'litigation 2026-17', '--by', 'legal@example.com', ...target]);
    expect(held.output).toContain('on legal hold until released');
    expect(held.output).toMatch(/was cancelled: \S+ Disabled/);
    expect(held.code).toBe(0);
    expect(await keyStateOf(kms, key.keyId)).toBe('Disabled');

    const status = await run(['status', 'cli-ops', '--json', ...target]);
    expect(JSON.parse(status.output)).toMatchObject({ state: 'held', hold: { by: 'legal@example.com', reason: 'litigation 2026-17' }, chain: { intact: true } });

    const released = await run(['release', 'cli-ops', '--reason', 'case settled', ...target]);
    expect(released.output).toContain('released (legal-hold, cancellation)');
    expect(released.code).toBe(0);
    const again = await run(['release', 'cli-ops', '--reason', 'twice', ...target]);
    expect(again.output).toContain('neither held nor awaiting a release');
    expect(again.code).toBe(3);
  }, 120_000);

  it('refuses to cancel what does not exist, with exit 3', async () => {
    const { code, output } = await run(['cancel', 'cli-nobody', '--reason', 'x', '--endpoint', endpoint]);
    expect(output).toContain('has no erasure in the ledger');
    expect(code).toBe(3);
  });

  it('says the embedded AWS is not running, with exit 1, when nothing listens', async () => {
    const { code, output } = await run(['status', 'cli-ops', '--endpoint', 'http://127.0.0.1:9']);
    expect(output).toContain('is `npx erasure local` running at http://127.0.0.1:9?');
    expect(code).toBe(1);
  });
});
