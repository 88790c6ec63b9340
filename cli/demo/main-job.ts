import { readFileSync } from 'node:fs';
import { CreateAliasCommand, CreateKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { startEmbeddedAws, type EmbeddedAws } from '../../embedded-aws/embedded-aws.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ledgerTable } from '../../functions/lib/aws/ledger-table.ts';
import type { SignedCertificate } from '../../functions/lib/erasure/certificate.ts';
import { readPublicKey, verifyCertificate } from '../../functions/lib/erasure/certificate-verification.ts';
import { readKeyPolicy } from '../../functions/lib/erasure/settings.ts';
import { erasureLedger } from '../../functions/lib/ledger/ledger.ts';
import { executionName, fingerprintSubject } from '../../functions/lib/erasure/subject.ts';
import { decryptRecord, encryptRecord, subjectKeyring, type RecordUnreadable } from './envelope-encryption.ts';
import { narrator, type Narrator } from './narration.ts';

/**
 * The main job (`npm start`): one complete erasure on the embedded AWS, narrated as it happens.
 * Every claim it prints is checked; anything that does not hold ends it with a non-zero exit.
 */
const CLOSURE_EVENT = 'events/account-closed.json';
const SAMPLE_USERS = ['user-4821', 'user-5190', 'user-7333'];
const SAMPLE_RECORDS = ['profile: name, e-mail, postal address', 'order history: 14 orders', 'support ticket: "please close my account"'];
const DEADLINE_MS = 55_000;
// KMS may delete a key up to 24 hours after its DeletionDate; a few hours late shows the erasure
// woken by KMS's own deletion event rather than by polling.
const KMS_DELETION_LAG_MS = 3 * 3_600_000;
// The clock is discrete (handlers take no virtual time); these AWS-like latencies give the
// timeline the gaps it would have on AWS: an EventBridge delivery, a warm Lambda invocation.
const LATENCY = { eventDeliveryMs: 400, invocationMs: 120 };
// Long enough for the closure to be scheduled for deletion, far short of the waiting period.
const UNTIL_SCHEDULED_MS = 60_000;

class MainJobFailure extends Error {}

/** Lets what is under way (a delivery, an alert) finish: a few seconds of virtual time. */
async function settle(aws: EmbeddedAws): Promise<void> {
  await aws.runUntil(new Date(aws.clock.now().getTime() + 5_000));
}

export async function runMainJob(): Promise<number> {
  const say = narrator();
  let aws: EmbeddedAws | undefined;
  const deadline = setTimeout(() => {
    say.failure(`the erasure did not finish within ${DEADLINE_MS / 1000} seconds`);
    process.exit(1);
  }, DEADLINE_MS);
  try {
    say.heading('Starting the embedded AWS from serverless.yml');
    aws = await startEmbeddedAws({
      latency: LATENCY,
      deletionLagMs: KMS_DELETION_LAG_MS,
      environment: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
      log: (line) => say.detail(line),
    });
    say.line(`endpoint ${aws.endpoint}, discrete virtual clock: time stands still while anything works and jumps to the next instant something waits for`);
    await demonstrate(aws, say);
    say.heading('Done: the subject\'s data is unrecoverable everywhere; everyone else\'s is intact.');
    return 0;
  } catch (error) {
    say.failure(error instanceof MainJobFailure ? error.message : `unexpected error: ${(error as Error).stack ?? String(error)}`);
    return 1;
  } finally {
    clearTimeout(deadline);
    await aws?.close();
  }
}

async function demonstrate(aws: EmbeddedAws, say: Narrator): Promise<void> {
  const kms = new KMSClient(aws.clientConfig);
  const eventBridge = new EventBridgeClient(aws.clientConfig);
  const sfn = new SFNClient(aws.clientConfig);
  const sns = new SNSClient(aws.clientConfig);
  const { region, accountId } = aws.deployment;
  // The same settings the deployed functions read: serverless.yml's, through the embedded Lambda's environment.
  const { subjectTagKey: tagKey, aliasPrefix } = readKeyPolicy();

  say.heading('Each user gets their own customer managed KMS key (alias + subject tag)');
  const records = new Map<string, Buffer[]>();
  const readRecord = new Map<string, (record: Buffer) => Promise<string>>();
  for (const user of SAMPLE_USERS) {
    const created = await kms.send(new CreateKeyCommand({ Description: `data key for ${user}`, Tags: [{ TagKey: tagKey, TagValue: user }] }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: `${aliasPrefix}/${user}`, TargetKeyId: keyId }));
    const keyring = subjectKeyring(aws.clientConfig, created.KeyMetadata?.Arn ?? '');
    const encrypted: Buffer[] = [];
    for (const record of SAMPLE_RECORDS) encrypted.push(await encryptRecord(keyring, fingerprintSubject(user), `${user} ${record}`));
    records.set(user, encrypted);
    readRecord.set(user, (record) => decryptRecord(keyring, fingerprintSubject(user), record));
    say.line(`${user}: key ${keyId}, ${encrypted.length} records encrypted with the AWS Encryption SDK (KMS keyring on the key, encryption context { subject: ${fingerprintSubject(user)} })`);
  }

  // A rule on the default bus for what KMS itself reports: CloudTrail records of refused calls
  // (read-only Decrypt needs ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS) and real deletions.
  const kmsEventsTopic = (await sns.send(new CreateTopicCommand({ Name: 'demo-kms-events' }))).TopicArn ?? '';
  await eventBridge.send(
    new PutRuleCommand({
      Name: 'demo-kms-events',
      State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
      EventPattern: JSON.stringify({ source: ['aws.kms'], 'detail-type': ['AWS API Call via CloudTrail', 'KMS CMK Deletion'] }),
    }),
  );
  await eventBridge.send(new PutTargetsCommand({ Rule: 'demo-kms-events', Targets: [{ Id: 'demo-topic', Arn: kmsEventsTopic }] }));

  const closure = JSON.parse(readFileSync(CLOSURE_EVENT, 'utf8')) as { source: string; 'detail-type': string; detail: { subjectId: string } };
  const subject = closure.detail.subjectId;
  const fingerprint = fingerprintSubject(subject);
  const machineArn = aws.arnOf('ErasureStateMachine');
  const executionArn = `${machineArn.replace(':stateMachine:', ':execution:')}:${executionName(fingerprint, 1)}`;

  say.heading(`Upstream publishes AccountClosed for ${subject} (${CLOSURE_EVENT})`);
  const put = await eventBridge.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: aws.nameOf('ClosureEventBus'), Source: closure.source, DetailType: closure['detail-type'], Detail: JSON.stringify(closure.detail) }],
    }),
  );
  if (put.FailedEntryCount) throw new MainJobFailure(`PutEvents refused the closure event: ${JSON.stringify(put.Entries)}`);
  say.line(`on bus ${aws.nameOf('ClosureEventBus')}; the rule invokes intake, which starts execution ${executionName(fingerprint, 1)}`);
  say.line(`(the name is the subject's fingerprint ${fingerprint}: no personal data in execution names or logs)`);

  const steps = followExecution(sfn, executionArn, say);
  await aws.runUntil(new Date(aws.clock.now().getTime() + UNTIL_SCHEDULED_MS));
  await steps.scheduled;

  say.heading(`During the waiting period, an application tries to read ${subject}'s record`);
  const refused = await readRecord.get(subject)!(records.get(subject)![0]!).then(
    () => undefined,
    (error: RecordUnreadable) => error,
  );
  if (!refused?.kmsError || !/pending deletion/.test(refused.kmsError.message)) {
    throw new MainJobFailure(`a decrypt during the waiting period should be refused as pending deletion, got ${refused ? `${refused.name}: ${refused.message}` : 'the plaintext'}`);
  }
  say.line(`refused: ${refused.kmsError.name}: ${refused.kmsError.message}`);
  await settle(aws);
  const trail = aws.sns.published(kmsEventsTopic).map((message) => JSON.parse(message.message)).find((event) => event['detail-type'] === 'AWS API Call via CloudTrail');
  if (!trail) throw new MainJobFailure('the refused decrypt produced no CloudTrail event on EventBridge');
  say.line('KMS recorded it; the CloudTrail-shaped event on EventBridge (what on-call alerting watches):');
  say.json({
    'detail-type': trail['detail-type'],
    source: trail.source,
    detail: {
      eventName: trail.detail.eventName,
      errorCode: trail.detail.errorCode,
      errorMessage: trail.detail.errorMessage,
      readOnly: trail.detail.readOnly,
      resources: trail.detail.resources,
    },
  });
  await settle(aws);
  const paged = aws.sns.published(aws.arnOf('OnCallAlertsTopic')).find((message) => message.messageAttributes.eventType?.StringValue === 'key-used-while-pending-deletion');
  if (!paged) throw new MainJobFailure('the refused decrypt paged nobody: the pipeline\'s KeyUsedWhilePendingDeletionRule raised no alert');
  const alert = JSON.parse(paged.message);
  say.line('the pipeline\'s own rule (state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS) paged on-call:');
  say.detail(paged.subject ?? '');
  say.json({ keyArn: alert.keyArn, subject: alert.subject, deletionDate: alert.deletionDate, timeLeft: alert.timeLeft, caller: alert.caller, runbook: alert.runbook });
  if (paged.message.includes(subject)) throw new MainJobFailure('the on-call alert carries the subject id');
  say.line('until the deletion date an operator could still cancel the deletion; nobody does.');

  await aws.runToCompletion();
  const outcome = await steps.finished;
  if (outcome.status !== 'SUCCEEDED') throw new MainJobFailure(`the erasure ended ${outcome.status}: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);

  say.heading(`After KMS deleted the key: ${subject}'s records`);
  for (const record of records.get(subject)!) {
    const failure = await readRecord.get(subject)!(record).then(
      () => undefined,
      (error: RecordUnreadable) => error,
    );
    if (failure?.kmsError?.name !== 'NotFoundException') throw new MainJobFailure(`${subject}'s record should be undecryptable, got ${failure ? `${failure.name}: ${failure.message}` : 'the plaintext'}`);
    say.line(`unrecoverable: ${failure.kmsError.name}: ${failure.kmsError.message}`);
  }
  say.heading("Everyone else's records still decrypt");
  for (const user of SAMPLE_USERS.filter((candidate) => candidate !== subject)) {
    const plaintexts = await Promise.all(records.get(user)!.map(readRecord.get(user)!));
    if (plaintexts.some((plaintext) => !plaintext.startsWith(user))) throw new MainJobFailure(`${user}'s records no longer decrypt`);
    say.line(`${user}: ${plaintexts.length} records decrypt: "${plaintexts[0]}"`);
  }

  await settle(aws);
  const deletion = aws.sns.published(kmsEventsTopic).map((message) => JSON.parse(message.message)).find((event) => event['detail-type'] === 'KMS CMK Deletion');
  if (!deletion) throw new MainJobFailure('KMS emitted no KMS CMK Deletion event');
  say.line(`KMS also announced the deletion itself: "KMS CMK Deletion" for ${deletion.resources[0]}`);

  say.heading('Notifications published on the erasure topic');
  const notifications = aws.sns.published(aws.arnOf('ErasureNotificationsTopic'));
  const kinds = notifications.map((message) => message.messageAttributes.eventType?.StringValue);
  if (kinds.join(',') !== 'scheduled,completed') throw new MainJobFailure(`expected notifications scheduled then completed, got ${kinds.join(', ')}`);
  let signed: SignedCertificate | undefined;
  for (const notification of notifications) {
    const body = JSON.parse(notification.message);
    say.line(`${notification.subject} (eventType ${body.eventType}, severity ${body.severity}, schema v${body.schemaVersion})`);
    if (body.eventType === 'scheduled') say.detail(`deletion date ${body.deletionDate}`);
    if (body.eventType === 'completed') {
      signed = body.certificate as SignedCertificate;
      say.detail(`erasure certificate ${signed.certificate.certificateId}, signed by ${signed.signature.keyArn}:`);
      say.json({
        method: signed.certificate.method,
        sanitized: signed.certificate.sanitized,
        tool: signed.certificate.tool,
        verification: signed.certificate.verification,
        dates: signed.certificate.dates,
        performedBy: signed.certificate.performedBy,
        ledger: signed.certificate.ledger,
        signature: { algorithm: signed.signature.algorithm, canonicalization: signed.signature.canonicalization },
      });
    }
  }
  if (!signed) throw new MainJobFailure('the completed notification carried no certificate');

  say.heading('An auditor checks the certificate offline, with the signing key\'s public key alone');
  const publicKey = await kms.send(new GetPublicKeyCommand({ KeyId: `alias/crypto-erasure-certificates-${aws.deployment.stage}` }));
  const pem = readPublicKey(Buffer.from(publicKey.PublicKey ?? new Uint8Array())).export({ type: 'spki', format: 'pem' }).toString();
  say.line(`public key exported once (npx erasure public-key): ${pem.split('\n')[1]?.slice(0, 40)}...`);
  const check = verifyCertificate(JSON.parse(JSON.stringify(signed)), pem);
  if (!check.valid) throw new MainJobFailure(`the certificate does not verify: ${check.problem}`);
  say.line(`valid: certificate ${check.certificateId} for subject ${check.subject}, erased ${check.completedAt}`);
  const forged = { ...signed, certificate: { ...signed.certificate, dates: { ...signed.certificate.dates, completedAt: '2020-01-01T00:00:00.000Z' } } };
  const forgedCheck = verifyCertificate(forged, pem);
  if (forgedCheck.valid) throw new MainJobFailure('a certificate with a changed date still verified');
  say.line(`the same certificate with its completion date changed: NOT VALID (${forgedCheck.problem})`);

  say.heading(`The ledger: ${subject}'s erasure as DynamoDB keeps it, hash-chained`);
  const ledger = erasureLedger(ledgerTable(new DynamoDBClient(aws.clientConfig), aws.deployment.tables[0]?.name ?? ''), () => aws!.clock.now());
  const record = await ledger.read(fingerprint);
  if (!record.chain.intact) throw new MainJobFailure(`the ledger's chain is broken: ${record.chain.problem}`);
  for (const entry of record.entries) say.detail(`#${entry.sequence} ${entry.recordedAt} ${entry.event.type}  ${entry.hash.slice(0, 16)}… ← ${entry.previousHash.slice(0, 16)}…`);
  say.line(`chain intact: ${record.entries.length} entries, head #${record.chain.head?.sequence}; the certificate rests on entry #${signed.certificate.ledger.chainHead.sequence}`);
  if (JSON.stringify(record.entries).includes(subject)) throw new MainJobFailure('the ledger holds the subject id');
  say.line('the ledger holds no subject id: it outlives the data it proves erased (npx erasure status, npx erasure certificate)');
  if (JSON.stringify(notifications).includes(subject)) throw new MainJobFailure('a notification carries the subject id');
  const lost = aws.deadLetters();
  if (lost.length > 0) throw new MainJobFailure(`events were dead-lettered: ${JSON.stringify(lost).slice(0, 500)}`);
  const pages = aws.sns.published(aws.arnOf('OnCallAlertsTopic')).map((message) => message.messageAttributes.eventType?.StringValue);
  if (pages.join(',') !== 'key-used-while-pending-deletion') throw new MainJobFailure(`on-call should have been paged once, for the refused decrypt; was paged for ${pages.join(', ') || 'nothing'}`);
  say.line(`on-call alerts: 1 (the refused decrypt); dead letters: 0; account ${accountId}, Region ${region}`);
}

interface ExecutionOutcome {
  status: string;
  error?: string;
  cause?: string;
}

/** Narrates the execution from its history, through the Step Functions API, as it happens. */
function followExecution(sfn: SFNClient, executionArn: string, say: Narrator) {
  let markScheduled: () => void = () => undefined;
  const scheduled = new Promise<void>((resolve) => {
    markScheduled = resolve;
  });
  const finished = (async (): Promise<ExecutionOutcome> => {
    let seen = 0;
    for (;;) {
      const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn })).catch((error: Error) => {
        if (error.name === 'ExecutionDoesNotExist') return { events: [] as HistoryEvent[] };
        throw error;
      });
      const events = history.events ?? [];
      for (const event of events.slice(seen)) {
        if (narrate(event, say)) markScheduled();
      }
      seen = events.length;
      const done = events.some((event) => ['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut'].includes(event.type ?? ''));
      if (done) {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        markScheduled();
        return { status: execution.status ?? 'UNKNOWN', error: execution.error, cause: execution.cause };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return { scheduled, finished };
}

/** Prints one history event in the erasure's words; returns true once the deletion is scheduled and announced. */
function narrate(event: HistoryEvent, say: Narrator): boolean {
  // The history's timestamps are the virtual clock's: when the step really happened.
  const at = event.timestamp ?? new Date(0);
  const exited = event.stateExitedEventDetails;
  const entered = event.stateEnteredEventDetails;
  const output = exited?.output ? JSON.parse(exited.output) : undefined;
  switch (`${event.type}:${entered?.name ?? exited?.name ?? ''}`) {
    case 'ExecutionStarted:':
      say.step(at, 'Step Functions: erasure started');
      break;
    case 'TaskStateExited:ResolveKeys':
      for (const key of output.keys) say.step(at, `authorised by tag: ${key.keyArn}`);
      break;
    case 'TaskStateEntered:EraseKeysAtQuotaPace':
      say.step(at, 'keys handed to the key erasure queue (one worker, paced at KMS\'s quotas for every erasure)');
      break;
    case 'TaskStateExited:EraseKeysAtQuotaPace':
      for (const key of output.erased.keys) {
        say.step(at, `disabled, deletion scheduled: KMS will delete ${key.keyArn} on ${key.deletionDate} (${key.pendingWindowDays}-day waiting period)`);
      }
      break;
    case 'TaskStateExited:NotifyScheduled':
      say.step(at, 'notified: erasure scheduled');
      return true;
    case 'TaskStateEntered:AwaitKeyDeletion':
      say.step(at, `waiting for KMS to delete the key: woken by its deletion event, or checking for itself on ${JSON.parse(entered?.input ?? '{}').erased?.firstCheckAt} plus a day's slack`);
      break;
    case 'TaskStateExited:AwaitKeyDeletion':
    case 'TaskStateExited:AwaitLateKeyDeletion':
      say.step(at, 'woken: KMS says the last key is deleted ("KMS CMK Deletion")');
      break;
    case 'TaskStateExited:CheckDeletion': {
      const verification = output.verification;
      if (verification.status === 'Deleted') say.step(at, 'checked: DescribeKey answers NotFoundException: KMS has deleted the key');
      else if (verification.status === 'Pending') say.step(at, `checked: still ${verification.keys.map((key: { fate: string }) => key.fate).join(', ')}; next check ${verification.nextCheckAt}`);
      else say.step(at, `checked: ${verification.status}`);
      break;
    }
    case 'TaskStateExited:NotifyCompleted':
      say.step(at, 'notified: erasure completed, with its certificate');
      break;
    case 'ExecutionSucceeded:':
      say.step(at, 'Step Functions: erasure completed');
      break;
    case 'ExecutionFailed:':
      say.step(at, `Step Functions: erasure FAILED: ${event.executionFailedEventDetails?.error}: ${event.executionFailedEventDetails?.cause}`);
      break;
    default:
      break;
  }
  return false;
}
