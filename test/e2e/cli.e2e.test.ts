import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signCertificate, type ErasureCertificate } from '../../functions/lib/erasure/certificate.ts';
import { EMBEDDED_CREDENTIALS } from '../../embedded-aws/embedded-aws.ts';
import { erasure } from '../support/cli.ts';
import { waitFor } from '../support/embedded.ts';


let running: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  running?.kill('SIGKILL');
  running = undefined;
});

describe('erasure local', () => {
  it('serves KMS on loopback with its waiting-period rules, and stops cleanly on SIGTERM', async () => {
    // 100,000x: a 7-day window lasts 6 real seconds, room enough for the calls made inside it.
    const server = erasure(['local', '--port', '0', '--time-scale', '100000']);
    running = server.child;
    const endpoint = await waitFor(() => /^endpoint (http:\/\/127\.0\.0\.1:\d+)$/m.exec(server.output())?.[1], 'the endpoint line', 30_000);
    const kms = new KMSClient({ endpoint, region: 'eu-west-1', credentials: EMBEDDED_CREDENTIALS, maxAttempts: 1 });

    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata?.KeyId ?? '';
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const pending = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(pending).toMatchObject({ KeyState: 'PendingDeletion', DeletionDate: expect.any(Date) });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
      message: `${KeyMetadata?.Arn} is pending deletion.`,
    });
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Disabled');

    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const gone = await (async () => {
      for (let tries = 0; tries < 200; tries++) {
        const answer = await kms.send(new DescribeKeyCommand({ KeyId: keyId })).then(() => undefined, (error: Error) => error);
        if (answer) return answer;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return undefined;
    })();
    expect(gone).toMatchObject({ name: 'NotFoundException' });

    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(server.output()).toContain('embedded AWS stopped');
  }, 120_000);

  it.each(['fast', '0', '-5'])('refuses the time scale %s with a clear message', async (timeScale) => {
    const run = erasure(['local', '--time-scale', timeScale]);
    running = run.child;
    expect(await run.exit).not.toBe(0);
    expect(run.output()).toContain("option '--time-scale <N>' argument");
    expect(run.output()).toContain('must be a positive number');
  });

  it('says which port is taken instead of crashing', async () => {
    const first = erasure(['local', '--port', '0']);
    running = first.child;
    const port = await waitFor(() => /^endpoint http:\/\/127\.0\.0\.1:(\d+)$/m.exec(first.output())?.[1], 'the endpoint line', 30_000);
    const second = erasure(['local', '--port', port]);
    expect(await second.exit).toBe(1);
    expect(second.output()).toContain(`port ${port} is already in use`);
    first.child.kill('SIGTERM');
    await first.exit;
  }, 60_000);
});

describe('the main job (npm start)', () => {
  it('shows a complete erasure and exits 0', async () => {
    const job = erasure(['demo']);
    running = job.child;
    expect(await job.exit).toBe(0);
    const output = job.output();
    expect(output).toMatch(/keys handed to the key erasure queue/);
    expect(output).toMatch(/disabled, deletion scheduled: KMS will delete arn:aws:kms:\S+ on \S+ \(30-day waiting period\)/);
    expect(output).toMatch(/refused: KMSInvalidStateException: arn:aws:kms:\S+ is pending deletion\./);
    expect(output).toContain('"detail-type": "AWS API Call via CloudTrail"');
    expect(output).toContain('checked: DescribeKey answers NotFoundException');
    expect(output.match(/unrecoverable: NotFoundException/g)).toHaveLength(3);
    expect(output).toMatch(/user-5190: 3 records decrypt/);
    expect(output).toContain('Erasure completed for subject');
    expect(output).toMatch(/valid: certificate cert-[0-9a-f]{32} for subject [0-9a-f]{32}/);
    expect(output).toMatch(/completion date changed: NOT VALID/);
    expect(output).toMatch(/#\d+ \S+ KeyDeletedByKms/);
    expect(output).toMatch(/#\d+ \S+ KeyUseAlerted/);
    expect(output).toMatch(/chain intact: \d+ entries/);
    expect(output).toMatch(/paged on-call:\n\s+KEY PENDING DELETION USED: Decrypt/);
    expect(output).toContain('on-call alerts: 1 (the refused decrypt)');
    expect(output).not.toContain('✗');
  }, 120_000);
});

describe('erasure verify-certificate, offline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'erasure-certificate-'));
  const file = (name: string) => join(dir, name);
  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const signer = { sign: async (digest: Buffer) => ({ keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/signing', signature: Buffer.from(p256.sign(digest, d, { prehash: false, format: 'der' })) }) };
    const certificate = { certificateVersion: 2, certificateId: `cert-${'1'.repeat(32)}`, subject: 'a'.repeat(32), erasure: 'arn:execution', dates: { completedAt: '2026-12-21T10:00:00Z' } } as unknown as ErasureCertificate;
    const signed = await signCertificate(signer, certificate);
    writeFileSync(file('certificate.json'), JSON.stringify(signed));
    writeFileSync(file('tampered.json'), JSON.stringify({ ...signed, certificate: { ...certificate, subject: 'b'.repeat(32) } }));
    writeFileSync(file('key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(file('not-json.json'), '{ certificate');
  });

  const run = async (args: string[]) => {
    const command = erasure(args);
    running = command.child;
    return { code: await command.exit, output: command.output() };
  };

  it('accepts a genuine certificate with exit 0', async () => {
    const { code, output } = await run(['verify-certificate', file('certificate.json'), '--public-key', file('key.pem')]);
    expect(output).toContain(`valid: certificate cert-${'1'.repeat(32)}`);
    expect(code).toBe(0);
  });

  it('refuses an altered certificate with exit 4, and says so in JSON for machines', async () => {
    const { code, output } = await run(['verify-certificate', file('tampered.json'), '--public-key', file('key.pem'), '--json']);
    expect(JSON.parse(output)).toMatchObject({ valid: false, problem: expect.stringContaining('does not match') });
    expect(code).toBe(4);
  });

  it.each([
    ['a missing file', ['verify-certificate', '/nonexistent/certificate.json', '--public-key', 'key.pem'], 'cannot read /nonexistent/certificate.json: no such file'],
    ['a file that is not JSON', ['verify-certificate', 'not-json.json', '--public-key', 'key.pem'], 'not-json.json is not JSON'],
    ['a missing public key', ['verify-certificate', 'certificate.json'], "required option '--public-key <pem>' not specified"],
    ['a subject named twice', ['cancel', 'user-1', '--fingerprint', 'a'.repeat(32), '--reason', 'x'], 'name the subject by its id, by --fingerprint'],
  ])('answers %s with one line and exit 2, never a stack trace', async (_, args, message) => {
    const { code, output } = await run(args.map((arg) => (arg.endsWith('.json') && !arg.startsWith('/') ? file(arg) : arg.endsWith('.pem') ? file(arg) : arg)));
    expect(output).toContain(message);
    expect(output).not.toMatch(/\n\s+at /);
    expect(code).toBe(2);
  });

  it('ends quietly when its output is closed early, as by `| head`', async () => {
    const command = erasure(['diagram']);
    running = command.child;
    command.child.stdout.destroy();
    expect(await command.exit).toBe(0);
    expect(command.output()).not.toContain('EPIPE');
  });

  it('lists every command with `erasure help`', async () => {
    const { code, output } = await run(['help']);
    for (const command of ['local', 'demo', 'status', 'cancel', 'hold', 'release', 'provision', 'certificate', 'public-key', 'verify-certificate']) expect(output).toContain(`  ${command} `);
    expect(output).toContain('Exit codes: 0 success');
    expect(code).toBe(0);
  });
});
