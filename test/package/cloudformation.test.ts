import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureBundles } from '../../bench/bundles.ts';
import { useFunctionEnvironment } from '../support/settings.ts';

const run = promisify(execFile);

/** `osls package`, offline and without AWS credentials, as CI and a new developer run it. */
function osls(args: string[]) {
  const env = { ...process.env, PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH}`, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_SESSION_TOKEN: '', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
  return run(join('node_modules', '.bin', 'osls'), args, { env, timeout: 120_000 });
}

type Resource = { Type: string; Properties: Record<string, any> };
let resources: Record<string, Resource>;
let packageDir: string;

beforeAll(async () => {
  packageDir = mkdtempSync(join(tmpdir(), 'erasure-package-'));
  await osls(['package', '--stage', 'test', '--package', packageDir]);
  resources = JSON.parse(readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
}, 120_000);
afterAll(() => rmSync(packageDir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const statements = (role: Resource) => role.Properties.Policies.flatMap((policy: any) => policy.PolicyDocument.Statement);

describe('the packaged CloudFormation template', () => {
  it('declares the erasure state machine as a Standard workflow running the ASL from statemachines/', () => {
    const machine = resources.ErasureStateMachine;
    expect(machine?.Properties.StateMachineType).toBe('STANDARD');
    const [template, substitutions] = machine?.Properties.DefinitionString['Fn::Sub'];
    expect(template).toContain('"StartAt": "ResolveKeys"');
    expect(Object.values(substitutions)).toContainEqual({ 'Fn::GetAtt': ['ResolveKeysLambdaFunction', 'Arn'] });
  });

  it('routes AccountClosed from the allowed sources on the closure bus, with retries and a dead-letter queue', () => {
    const closureRules = ofType('AWS::Events::Rule').filter(([, candidate]) => candidate.Properties.EventBusName !== undefined);
    expect(closureRules.map(([, candidate]) => candidate.Properties.EventPattern)).toEqual([
      { source: ['com.example.accounts'], 'detail-type': ['AccountClosed'] },
      // Whatever the first does not take reaches intake too, to be refused loudly.
      { $or: [{ source: [{ 'anything-but': ['com.example.accounts'] }] }, { 'detail-type': [{ 'anything-but': ['AccountClosed'] }] }] },
    ]);
    const [, rule] = closureRules[0] as [string, Resource];
    expect(rule.Properties.EventBusName).toEqual({ 'Fn::GetAtt': ['ClosureEventBus', 'Name'] });
    const [target] = rule.Properties.Targets;
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['ClosureDeadLetterQueue', 'Arn'] } });
  });

  it('sends an event the intake function rejects to the same dead-letter queue', () => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig');
    expect(configs.map(([name]) => name).sort()).toEqual(['AlertKeyUseLambdaEvConf', 'IntakeLambdaEvConf', 'RecordExecutionEndLambdaEvConf', 'RecordKeyDeletionLambdaEvConf']);
    for (const [, config] of configs) expect(config.Properties.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': ['ClosureDeadLetterQueue', 'Arn'] });
  });

  it('declares both topics', () => {
    const topics = ofType('AWS::SNS::Topic').map(([name]) => name);
    expect(topics.sort()).toEqual(['ErasureNotificationsTopic', 'OnCallAlertsTopic']);
  });

  it('runs every function on nodejs22.x', () => {
    const runtimes = ofType('AWS::Lambda::Function').map(([, fn]) => fn.Properties.Runtime);
    expect(runtimes).toHaveLength(10);
    expect(new Set(runtimes)).toEqual(new Set(['nodejs22.x']));
  });

  it('allows destructive KMS actions only on keys carrying the subject tag', () => {
    const destructive = ['kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:DeleteImportedKeyMaterial', 'kms:EnableKey'];
    const policies = [
      ...ofType('AWS::IAM::Role').flatMap(([, role]) => (role.Properties.Policies ?? []).flatMap((policy: any) => policy.PolicyDocument.Statement)),
      ...ofType('AWS::IAM::ManagedPolicy').flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement),
    ];
    const granting = policies.filter((statement: any) => [statement.Action].flat().some((action: string) => destructive.includes(action)));
    expect(granting.length).toBeGreaterThanOrEqual(2);
    for (const statement of granting) {
      expect(statement.Condition).toEqual({ StringLike: { 'aws:ResourceTag/erasure:subject': '?*' } });
      expect([statement.Resource].flat()).not.toContain('*');
    }
    for (const statement of policies) expect([statement.Action].flat()).not.toContain('kms:*');
  });

  it('gives the key eraser role only DescribeKey besides the guarded actions, its queue and the answers to waiting erasures', () => {
    const granted = statements(resources.KeyEraserRole as Resource);
    const actions = granted.flatMap((statement: any) => [statement.Action].flat());
    expect(actions.filter((action: string) => action.startsWith('kms:')).sort()).toEqual(['kms:DeleteImportedKeyMaterial', 'kms:DescribeKey', 'kms:DisableKey', 'kms:ScheduleKeyDeletion']);
    expect(granted).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: { 'Fn::GetAtt': ['KeyErasureQueue', 'Arn'] } }),
    );
    const answering = granted.find((statement: any) => [statement.Action].flat().some((action: string) => action.startsWith('states:')));
    expect([answering?.Action].flat().sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess']);
    // The erasure state machine's ARN (serverless-step-functions writes its Ref out as a Fn::Sub).
    expect(JSON.stringify(answering?.Resource)).toMatch(/stateMachine:crypto-erasure-test"/);
    expect(actions.filter((action: string) => !/^(kms|sqs|states):/.test(action))).toEqual([]);
  });

  it("hands every erasure's keys to one paced worker: a FIFO queue drained by eraseKeys alone, one instance at a time", () => {
    const queue = resources.KeyErasureQueue as Resource;
    expect(queue.Properties).toMatchObject({ FifoQueue: true, QueueName: 'crypto-erasure-key-erasures-test.fifo', SqsManagedSseEnabled: true });
    const worker = resources.EraseKeysLambdaFunction as Resource;
    expect(worker.Properties).toMatchObject({ Handler: 'functions/erase-keys.handler', ReservedConcurrentExecutions: 1, Role: { 'Fn::GetAtt': ['KeyEraserRole', 'Arn'] } });
    // Lambda's advice for an SQS event source: a visibility timeout of six times the function's timeout.
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Properties.Timeout);
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, mapping]) => mapping.Properties);
    expect(mappings).toEqual([
      expect.objectContaining({ EventSourceArn: { 'Fn::GetAtt': ['KeyErasureQueue', 'Arn'] }, FunctionName: { 'Fn::GetAtt': ['EraseKeysLambdaFunction', 'Arn'] }, FunctionResponseTypes: ['ReportBatchItemFailures'] }),
    ]);
    expect(mappings[0]?.BatchSize).toBeLessThanOrEqual(10);
    expect(statements(resources.ErasureStateMachineRole as Resource)).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [{ 'Fn::GetAtt': ['KeyErasureQueue', 'Arn'] }] }),
    );
  });

  it('keeps the ledger durable: on-demand, point-in-time recovery, deletion protection, retained, no TTL', () => {
    const ledger = resources.LedgerTable as Resource & { DeletionPolicy?: string };
    expect(ledger.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      KeySchema: [{ AttributeName: 'subject', KeyType: 'HASH' }, { AttributeName: 'entry', KeyType: 'RANGE' }],
    });
    expect(ledger.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(ledger.DeletionPolicy).toBe('Retain');
  });

  it('lets the pipeline append to the ledger, never delete or rewrite it', () => {
    const policy = resources.LedgerWriterPolicy as Resource;
    const [allow, deny] = policy.Properties.PolicyDocument.Statement;
    expect(allow).toMatchObject({ Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem'], Resource: { 'Fn::GetAtt': ['LedgerTable', 'Arn'] } });
    expect(deny).toMatchObject({ Effect: 'Deny', Action: expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteTable']) });
    for (const role of ['IntakeRole', 'KeyReaderRole', 'KeyEraserRole', 'NotifyRole', 'ExecutionWatcherRole']) {
      expect(resources[role]?.Properties.ManagedPolicyArns, role).toContainEqual({ Ref: 'LedgerWriterPolicy' });
    }
  });

  it('signs certificates with a dedicated ECC P-256 key only the notify role may sign with, and nobody may delete', () => {
    const key = resources.CertificateSigningKey as Resource & { DeletionPolicy?: string };
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'kms:ScheduleKeyDeletion' }));
    const signers = ofType('AWS::IAM::Role').filter(([, role]) => statements(role).some((statement: any) => [statement.Action].flat().includes('kms:Sign')));
    expect(signers.map(([name]) => name)).toEqual(['NotifyRole']);
    expect(statements(resources.NotifyRole as Resource)).toContainEqual(expect.objectContaining({ Action: 'kms:Sign', Resource: { 'Fn::GetAtt': ['CertificateSigningKey', 'Arn'] } }));
    expect(resources.NotifyLambdaFunction?.Properties.Environment.Variables).toMatchObject({
      CERTIFICATE_SIGNING_KEY_ARN: { 'Fn::GetAtt': ['CertificateSigningKey', 'Arn'] },
      ERASER_ROLE_ARN: { 'Fn::GetAtt': ['KeyEraserRole', 'Arn'] },
    });
  });

  it('catches executions that end without the pipeline: a default-bus rule on their status changes', () => {
    const [, rule] = ofType('AWS::Events::Rule').find(([, candidate]) => candidate.Properties.EventPattern?.source?.[0] === 'aws.states') as [string, Resource];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [{ Ref: 'ErasureStateMachine' }] },
    });
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['RecordExecutionEndLambdaFunction', 'Arn'] });
    expect(rule.Properties.Targets[0].DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['ClosureDeadLetterQueue', 'Arn'] } });
  });

  it('alerts on use of a key pending deletion from a rule that receives read-only CloudTrail management events', () => {
    const rule = resources.KeyUsedWhilePendingDeletionRule as Resource;
    expect(rule.Properties.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['kms.amazonaws.com'], errorCode: ['KMSInvalidStateException', 'DisabledException'] },
    });
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['AlertKeyUseLambdaFunction', 'Arn'] });
    expect(resources.KeyUsedWhilePendingDeletionPermission?.Properties).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': ['KeyUsedWhilePendingDeletionRule', 'Arn'] } });
  });

  it('audits keys on a schedule, daily by default', () => {
    const [, rule] = ofType('AWS::Events::Rule').find(([, candidate]) => candidate.Properties.ScheduleExpression !== undefined) as [string, Resource];
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['AuditKeysLambdaFunction', 'Arn'] });
  });

  it('passes the settings to the functions', () => {
    const resolve = resources.ResolveKeysLambdaFunction?.Properties.Environment.Variables;
    expect(resolve).toMatchObject({ PENDING_WINDOW_DAYS: '30', SUBJECT_TAG_KEY: 'erasure:subject', ALIAS_PREFIX: 'alias/erasure/subject' });
  });
});

describe('the packaged functions', () => {
  const functionNames = ['intake', 'resolveKeys', 'eraseKeys', 'awaitKeyDeletion', 'checkDeletion', 'notify', 'recordExecutionEnd', 'alertKeyUse', 'recordKeyDeletion', 'auditKeys'];
  // The environment serverless.yml gives them: they read their settings when they start.
  beforeAll(() => useFunctionEnvironment());

  async function loadBundle(name: string): Promise<Record<string, unknown>> {
    const unpacked = join(packageDir, `${name}-unpacked`);
    await run('python3', ['-m', 'zipfile', '-e', join(packageDir, `${name}.zip`), unpacked]);
    const [bundle] = readdirSync(join(unpacked, 'functions')).filter((file) => file.endsWith('.mjs'));
    return import(pathToFileURL(join(unpacked, 'functions', bundle ?? 'missing.mjs')).href);
  }

  it.each(functionNames)('%s is an ES module bundle that loads on Node 22 and exports its handler', async (name) => {
    const bundle = await loadBundle(name);
    expect(typeof bundle.handler).toBe('function');
  });

  it('a bundled function refuses bad settings by name when it starts, as deployed', async () => {
    const loaded = await loadBundle('intake');
    expect(typeof loaded.handler).toBe('function');
    process.env.ALERT_WINDOW_MINUTES = '0';
    try {
      // The same bundle imported afresh: its settings are read when it starts.
      const unpacked = join(packageDir, 'intake-unpacked', 'functions');
      const [bundle] = readdirSync(unpacked).filter((file) => file.endsWith('.mjs'));
      await expect(import(`${pathToFileURL(join(unpacked, bundle ?? 'missing.mjs')).href}?bad-settings`)).rejects.toMatchObject({
        name: 'InvalidSettings',
        message: expect.stringContaining('ALERT_WINDOW_MINUTES'),
      });
    } finally {
      useFunctionEnvironment();
    }
  });
});

describe('the packages Lambda loads', () => {
  // Each function as the template deploys it: its zip, and the module its handler names.
  const deployed = () =>
    ofType('AWS::Lambda::Function').map(([, fn]) => ({
      zip: join(packageDir, basename(fn.Properties.Code.S3Key)),
      module: String(fn.Properties.Handler).replace(/\.[^.]+$/, ''),
      environment: fn.Properties.Environment?.Variables ?? {},
    }));

  it('keeps every function zip under 350,000 bytes, with no source map inside', async () => {
    for (const { zip } of deployed()) {
      expect(statSync(zip).size, basename(zip)).toBeLessThan(350_000);
      const { stdout: listing } = await run('python3', ['-m', 'zipfile', '-l', zip]);
      expect(listing, basename(zip)).not.toMatch(/\.map\s/);
    }
  });

  it('has Node load no source map at init', () => {
    for (const { environment } of deployed()) expect(String(environment.NODE_OPTIONS ?? '')).not.toContain('--enable-source-maps');
  });

  it('writes each bundle\'s source map beside the package, naming the repository\'s sources', () => {
    for (const { module } of deployed()) {
      const map = join(packageDir, 'source-maps', `${module}.mjs.map`);
      expect(existsSync(map), map).toBe(true);
      expect(JSON.parse(readFileSync(map, 'utf8')).sources).toContain(`${module}.ts`);
    }
  });

  it('bundles zod/mini only: classic zod (450 KB minified), alone or through Powertools\' schemas, stays out', () => {
    for (const { module } of deployed()) {
      const sources: string[] = JSON.parse(readFileSync(join(packageDir, 'source-maps', `${module}.mjs.map`), 'utf8')).sources;
      expect(sources.filter((source) => /node_modules\/zod\/v4\/classic\/|@aws-lambda-powertools\/parser\/lib\/esm\/schemas\//.test(source)), module).toEqual([]);
      expect(sources.some((source) => source.includes('node_modules/zod/v4/mini/')), module).toBe(true);
    }
  });

  it('are measured by the bench: each zip\'s size, and its cold import against its AWS SDK clients alone', async () => {
    const measured = await measureBundles({ packageDir, repetitions: 1 });
    expect(measured.map((bundle) => bundle.name).sort()).toEqual(deployed().map(({ zip }) => basename(zip, '.zip')).sort());
    for (const bundle of measured) {
      expect(bundle.bytes).toBe(statSync(join(packageDir, `${bundle.name}.zip`)).size);
      expect(bundle.initRatio, bundle.name).toBeGreaterThan(0);
      expect(Number.isFinite(bundle.initRatio), bundle.name).toBe(true);
    }
  }, 120_000);
});

describe('deploy-time settings', () => {
  it.each(['6', '31', 'abc'])('refuse a waiting period of %s days before packaging', async (days) => {
    const failure = await osls(['print', '--stage', 'test', `--param=pendingWindowDays=${days}`]).catch((error: { stdout: string; stderr: string }) => error);
    expect('stdout' in failure && `${failure.stdout}${failure.stderr}`).toContain('pendingWindowDays must be a whole number of days from 7 to 30');
  });

  it('accept a 7-day waiting period', async () => {
    const { stdout } = await osls(['print', '--stage', 'test', '--param=pendingWindowDays=7', '--format', 'json']);
    expect(String(JSON.parse(stdout).provider.environment.PENDING_WINDOW_DAYS)).toBe('7');
  });
});
