import { DescribeKeyCommand, KMSClient, ListAliasesCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_CREDENTIALS } from '../../embedded-aws/embedded-aws.ts';
import { SUBJECT_KEY_DESCRIPTION } from '../../functions/lib/erasure/key-provisioning.ts';
import { erasure, localServer, type LocalServer } from '../support/cli.ts';
import { createSubjectKey, keyStateOf, sampleClosure } from '../support/embedded.ts';

/** `erasure provision` as an operator types it, against `erasure local`. */
async function run(args: string[]) {
  const command = erasure(args);
  return { code: await command.exit, output: command.output() };
}

describe('erasure provision against `erasure local`', () => {
  let server: LocalServer;
  let endpoint: string;
  let kms: KMSClient;

  beforeAll(async () => {
    server = await localServer();
    endpoint = server.endpoint;
    kms = new KMSClient({ endpoint, region: 'eu-west-1', credentials: EMBEDDED_CREDENTIALS });
  }, 60_000);
  afterAll(async () => server?.stop());

  it('creates a key the pipeline erases: customer managed, tagged, aliased; a closure then schedules its deletion', async () => {
    const created = await run(['provision', 'prov-erased', '--endpoint', endpoint, '--json']);
    expect(created.code).toBe(0);
    const provisioned = JSON.parse(created.output);
    expect(provisioned).toMatchObject({
      outcome: 'created',
      aliasName: 'alias/erasure/subject/prov-erased',
      tag: { key: 'erasure:subject', value: 'prov-erased' },
      eraserRoleArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\/crypto-erasure-local-KeyEraserRole$/),
      warning: null,
    });

    const { KeyMetadata: key } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/erasure/subject/prov-erased' }));
    expect(key).toMatchObject({ Arn: provisioned.keyArn, KeyManager: 'CUSTOMER', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Origin: 'AWS_KMS', MultiRegion: false, Description: SUBJECT_KEY_DESCRIPTION });
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: provisioned.keyId }));
    expect(Tags).toEqual([{ TagKey: 'erasure:subject', TagValue: 'prov-erased' }]);
    const { Aliases } = await kms.send(new ListAliasesCommand({ KeyId: provisioned.keyId }));
    expect(Aliases?.map((alias) => alias.AliasName)).toEqual(['alias/erasure/subject/prov-erased']);

    const eventBridge = new EventBridgeClient({ endpoint, region: 'eu-west-1', credentials: EMBEDDED_CREDENTIALS });
    await eventBridge.send(
      new PutEventsCommand({ Entries: [{ EventBusName: 'crypto-erasure-closures-local', Source: 'com.example.accounts', DetailType: 'AccountClosed', Detail: JSON.stringify(sampleClosure('prov-erased').detail) }] }),
    );
    for (let tries = 0; (await keyStateOf(kms, provisioned.keyId)) !== 'PendingDeletion'; tries++) {
      if (tries > 200) throw new Error('the provisioned key was never scheduled for deletion');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 120_000);

  it('answers a second provisioning with the same key, in lines for people', async () => {
    const first = await run(['provision', 'prov-twice', '--endpoint', endpoint]);
    expect(first.output).toMatch(/^created key (arn:aws:kms:\S+) on the embedded AWS/m);
    const keyArn = /^created key (\S+)/m.exec(first.output)![1]!;
    expect(first.output).toContain('  alias alias/erasure/subject/prov-twice');
    expect(first.output).toContain('  tag erasure:subject = prov-twice');
    expect(first.output).toMatch(/key policy lets arn:aws:iam::\d{12}:role\/crypto-erasure-local-KeyEraserRole disable and schedule its deletion/);
    expect(first.code).toBe(0);

    const again = await run(['provision', 'prov-twice', '--endpoint', endpoint]);
    expect(again.output).toContain(`already provisioned: key ${keyArn}`);
    expect(again.code).toBe(0);
  }, 60_000);

  it('creates a multi-Region primary key with --multi-region', async () => {
    const { code, output } = await run(['provision', 'prov-mrk', '--multi-region', '--endpoint', endpoint, '--json']);
    expect(JSON.parse(output)).toMatchObject({ outcome: 'created', multiRegion: true, keyId: expect.stringMatching(/^mrk-/) });
    expect(code).toBe(0);
  }, 60_000);

  it('replicates the key into each --replica-region, every replica tagged for the subject; a second run adds only a missing Region', async () => {
    const first = await run(['provision', 'prov-family', '--replica-region', 'us-east-1', '--endpoint', endpoint, '--json']);
    expect(first.code).toBe(0);
    const provisioned = JSON.parse(first.output);
    expect(provisioned).toMatchObject({ outcome: 'created', multiRegion: true, replicas: [{ region: 'us-east-1', keyArn: expect.stringContaining(':us-east-1:') }] });

    const again = await run(['provision', 'prov-family', '--replica-region', 'us-east-1', '--replica-region', 'ap-southeast-2', '--endpoint', endpoint, '--json']);
    const replicas = JSON.parse(again.output).replicas as { region: string; keyArn: string }[];
    expect(replicas.map((replica) => replica.region)).toEqual(['us-east-1', 'ap-southeast-2']);
    expect(replicas[0]?.keyArn).toBe(provisioned.replicas[0].keyArn);
    for (const replica of replicas) {
      const inRegion = new KMSClient({ endpoint, region: replica.region, credentials: EMBEDDED_CREDENTIALS });
      const { Tags } = await inRegion.send(new ListResourceTagsCommand({ KeyId: replica.keyArn }));
      expect(Tags).toEqual([{ TagKey: 'erasure:subject', TagValue: 'prov-family' }]);
    }
  }, 60_000);

  it('refuses a Region name that is not one, with exit 2, creating nothing', async () => {
    const { code, output } = await run(['provision', 'prov-bad-region', '--replica-region', 'mars-1', '--endpoint', endpoint]);
    expect(output).toContain('mars-1 is not an AWS Region name');
    expect(code).toBe(2);
    expect(await keyStateOf(kms, 'alias/erasure/subject/prov-bad-region')).toBe('NotFoundException');
  }, 60_000);

  it('refuses a subject whose alias points at a key not tagged for it, with exit 3, creating nothing', async () => {
    const other = await createSubjectKey(kms, 'prov-owner', { alias: 'alias/erasure/subject/prov-taken' });

    const { code, output } = await run(['provision', 'prov-taken', '--endpoint', endpoint]);

    expect(output).toContain(`already points at key ${other.arn}, which does not carry erasure:subject`);
    expect(output).not.toContain('prov-owner');
    expect(code).toBe(3);
    const { KeyMetadata: key } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/erasure/subject/prov-taken' }));
    expect(key?.Arn).toBe(other.arn);
  }, 60_000);

  it('refuses a bad subject id with one line and exit 2, before reaching AWS', async () => {
    const { code, output } = await run(['provision', 'user/../other', '--endpoint', 'http://127.0.0.1:9']);
    expect(output.trim()).toBe('erasure: a subject id is 1 to 200 characters of A-Z, a-z, 0-9, _ and -');
    expect(code).toBe(2);
  });
});
