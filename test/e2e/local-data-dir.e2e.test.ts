import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EMBEDDED_CREDENTIALS } from '../../embedded-aws/embedded-aws.ts';
import { erasure } from '../support/cli.ts';
import { waitFor } from '../support/embedded.ts';


const dataDir = mkdtempSync(join(tmpdir(), 'erasure-local-data-'));
let running: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  running?.kill('SIGKILL');
  running = undefined;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function serve(): Promise<{ documents: DynamoDBDocumentClient; stop: () => Promise<number | null> }> {
  const server = erasure(['local', '--port', '0', '--data-dir', dataDir]);
  running = server.child;
  const endpoint = await waitFor(() => /^endpoint (http:\/\/127\.0\.0\.1:\d+)$/m.exec(server.output())?.[1], 'the endpoint line', 30_000);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: EMBEDDED_CREDENTIALS, maxAttempts: 1 }));
  return {
    documents,
    stop: () => {
      server.child.kill('SIGTERM');
      return server.exit;
    },
  };
}

describe('erasure local --data-dir', () => {
  it('keeps a ledger item across a restart', async () => {
    const first = await serve();
    await first.documents.send(new PutCommand({ TableName: 'crypto-erasure-ledger-local', Item: { subject: 'fp-cli', entry: 'event#000000000001' } }));
    expect(await first.stop()).toBe(0);

    const second = await serve();
    const { Item } = await second.documents.send(new GetCommand({ TableName: 'crypto-erasure-ledger-local', Key: { subject: 'fp-cli', entry: 'event#000000000001' } }));
    expect(Item).toEqual({ subject: 'fp-cli', entry: 'event#000000000001' });
    expect(await second.stop()).toBe(0);
  }, 120_000);

  it('says in one line that the directory cannot be created', async () => {
    const file = join(dataDir, 'a-file');
    writeFileSync(file, '');
    const run = erasure(['local', '--data-dir', join(file, 'data')]);
    running = run.child;
    expect(await run.exit).toBe(1);
    expect(run.output()).toMatch(new RegExp(`^erasure: cannot create the data directory ${join(file, 'data')}: ENOTDIR[^\\n]*\\n$`));
  });
});
