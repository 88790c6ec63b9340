import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedAws, type EmbeddedAws } from '../../../embedded-aws/embedded-aws.ts';

/**
 * `dataDir`: what the embedded AWS keeps across a restart (DynamoDB items, KMS keys, the clock's
 * instant), and what it refuses.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'embedded-aws-data-'));
let aws: EmbeddedAws | undefined;
afterAll(async () => {
  await aws?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = (options: { start?: Date } = {}) => startEmbeddedAws({ log: () => undefined, timeScale: 1_000, dataDir, ...options });
const documentsOf = (running: EmbeddedAws) => DynamoDBDocumentClient.from(new DynamoDBClient({ ...running.clientConfig, maxAttempts: 1 }));

describe('a data directory', () => {
  it('keeps items, keys and the virtual clock across a restart, the clock never going backwards', async () => {
    aws = await start({ start: new Date('2031-03-01T00:00:00Z') });
    const ledgerTable = aws.nameOf('LedgerTable');
    await documentsOf(aws).send(new PutCommand({ TableName: ledgerTable, Item: { subject: 'fp-kept', entry: 'event#000000000001', kind: 'requested' } }));
    const { KeyMetadata } = await new KMSClient(aws.clientConfig).send(new CreateKeyCommand({ Description: 'kept across restarts' }));
    aws.clock.advance(3 * 86_400_000);
    await aws.close();
    const closedAt = new Date(JSON.parse(readFileSync(join(dataDir, 'clock.json'), 'utf8')).now);
    aws = undefined;

    // Asked to start earlier than where it stopped, the clock resumes where it stopped.
    aws = await start({ start: new Date('2031-03-01T00:00:00Z') });
    expect(aws.clock.now().getTime()).toBeGreaterThanOrEqual(closedAt.getTime());
    expect(closedAt.getTime()).toBeGreaterThan(new Date('2031-03-04T00:00:00Z').getTime());
    const { Item } = await documentsOf(aws).send(new GetCommand({ TableName: aws.nameOf('LedgerTable'), Key: { subject: 'fp-kept', entry: 'event#000000000001' } }));
    expect(Item).toEqual({ subject: 'fp-kept', entry: 'event#000000000001', kind: 'requested' });
    const kept = await new KMSClient(aws.clientConfig).send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId }));
    expect(kept.KeyMetadata).toMatchObject({ KeyId: KeyMetadata?.KeyId, Description: 'kept across restarts', KeyState: 'Enabled' });
    await aws.close();
    aws = undefined;
  }, 120_000);

  it('gives its data directory back when a start fails part way: the next start opens it, and the failed one wrote nothing', async () => {
    const failedDir = mkdtempSync(join(tmpdir(), 'embedded-aws-failed-start-'));
    const occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
    try {
      const port = (occupied.address() as AddressInfo).port;
      // The port is taken: the start fails after the data directory and its DynamoDB are open.
      await expect(startEmbeddedAws({ log: () => undefined, dataDir: failedDir, port })).rejects.toThrow(`port ${port} is already in use`);
      expect(existsSync(join(failedDir, 'clock.json'))).toBe(false);
      const again = await startEmbeddedAws({ log: () => undefined, dataDir: failedDir });
      await again.close();
    } finally {
      occupied.close();
      rmSync(failedDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses, in one line, a directory that cannot be created', async () => {
    const file = join(dataDir, 'a-file');
    writeFileSync(file, '');
    await expect(startEmbeddedAws({ log: () => undefined, dataDir: join(file, 'data') })).rejects.toThrow(
      new RegExp(`^cannot create the data directory ${join(file, 'data')}: ENOTDIR`),
    );
  });
});
