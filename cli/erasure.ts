import { Command, InvalidArgumentError } from 'commander';
import { certificateOf, exportPublicKey, verifyCertificateFile } from './commands/certificates.ts';
import { cancel, hold, release } from './commands/decisions.ts';
import { checkSubjectId, provision, provisionLines } from './commands/provision.ts';
import { readErasureDefinition, stateMachineDiagram } from './commands/diagram.ts';
import { catalogLines, listCatalog } from './commands/events.ts';
import { replayLines, runLocalReplay } from './commands/replay-local.ts';
import { terminalProgress } from './progress-bar.ts';
import { readReplayInput, runStageReplay } from './commands/replay-stage.ts';
import { subjectStatus } from './commands/status.ts';
import { runMainJob } from './demo/main-job.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';
import { runLocal } from './local-server.ts';
import { subjectFingerprintOf } from './subject.ts';
import { DEFAULT_LOCAL_ENDPOINT, resolveTarget, type TargetOptions } from './target.ts';

/**
 * `erasure`: one ops command, with a subcommand per job: the embedded AWS as a server, the
 * narrated end-to-end erasure (`npm start`), an erasure's status, an operator's decisions (cancel,
 * hold, release), and the certificate tools an auditor uses. `npx erasure help` lists them
 * (`npx erasure --help` shows npm's own help: npm takes `--help` for itself).
 */
// Output piped into `head` and the like may be closed early: that ends the command, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

const program = new Command('erasure')
  .description('Cryptographic erasure on AWS: operate and demonstrate the pipeline.')
  .addHelpText(
    'after',
    `
Exit codes: ${EXIT.success} success · ${EXIT.failed} failed · ${EXIT.badInput} bad input · ${EXIT.refused} refused (to protect a key or a decision) · ${EXIT.notVerified} not verified.
Commands that act on a pipeline use the embedded AWS of \`npx erasure local\` (${DEFAULT_LOCAL_ENDPOINT}) unless given --stage <name> [--region <r>] (a deployed stage, through the AWS credential chain).`,
  );
program.exitOverride();

program
  .command('local')
  .description('run the embedded AWS (KMS, DynamoDB, EventBridge, Step Functions, SNS, Lambda) on loopback, deployed from serverless.yml')
  .option('--port <n>', 'port to listen on (0 picks a free one)', integer, 4566)
  .option('--time-scale <N>', 'run the virtual clock N times faster than real time', positive, 1)
  .option('--stage <name>', 'serverless.yml stage to deploy locally', 'local')
  .option('--region <name>', 'AWS Region the local resources live in', 'eu-west-1')
  .option('--quotas', 'enforce KMS request quotas (ThrottlingException over quota)', false)
  .option('--deletion-lag-hours <h>', 'how long after its deletion date KMS really deletes a key (AWS: up to 24)', notNegative, 0)
  .option('--data-dir <dir>', 'keep DynamoDB tables, KMS keys and the clock in this directory across restarts (default: in memory)')
  .action(async (options) => {
    await runLocal(options);
  });

program
  .command('demo')
  .description('the main job: a narrated end-to-end erasure on the embedded AWS')
  .action(async () => {
    process.exitCode = await runMainJob();
  });

/** The options every command that acts on a pipeline takes. */
function onTarget(command: Command): Command {
  return command
    .option('--endpoint <url>', `an embedded AWS to act on (default ${DEFAULT_LOCAL_ENDPOINT}, where \`npx erasure local\` listens)`)
    .option('--stage <name>', 'act on this deployed stage instead, through the ordinary AWS credential chain')
    .option('--region <name>', 'the stage\'s AWS Region')
    .option('--json', 'print JSON for machines instead of lines for people', false);
}

function subjectCommand(name: string, description: string): Command {
  return onTarget(
    program
      .command(`${name} [subjectId]`)
      .description(description)
      .option('--fingerprint <fp>', 'name the subject by its fingerprint (as alerts and notifications show it) instead of its id'),
  );
}

function timeLeft(deletionDate: string): string {
  const hours = (Date.parse(deletionDate) - Date.now()) / 3_600_000;
  if (hours <= 0) return 'due: KMS may take up to 24 hours more';
  return hours >= 48 ? `${Math.round(hours / 24)} days left` : `${Math.ceil(hours)} hours left`;
}

function targetOptions(options: TargetOptions): TargetOptions {
  return { endpoint: options.endpoint, stage: options.stage, region: options.region };
}

function print(json: boolean, value: unknown, human: () => string[]): void {
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human().join('\n')}\n`);
}

subjectCommand('status', "where a subject's erasure stands: its ledger, each erasure's execution, each key's state")
  .option('--execution <arn>', 'name the subject by one of its erasures\' executions (ARN or name)')
  .action(async (subjectId, options) => {
    const subject = subjectFingerprintOf(subjectId, options.fingerprint, options.execution);
    const status = await subjectStatus(await resolveTarget(targetOptions(options)), subject);
    print(options.json, status, () => [
      `subject ${status.subject}: ${status.state}${status.chain.intact ? '' : ' (LEDGER CHAIN BROKEN)'}`,
      `ledger: ${status.entries.length} entries, chain ${status.chain.intact ? `intact, head #${status.chain.head?.sequence ?? 0}` : `BROKEN at entry ${status.chain.brokenAt}: ${status.chain.problem}`}`,
      ...(status.hold ? [`legal hold by ${status.hold.by} since ${status.hold.placedAt}${status.hold.until ? ` until ${status.hold.until}` : ''}: ${status.hold.reason}`] : []),
      ...status.erasures.flatMap((erasure) => [
        `erasure ${erasure.executionName}: ${erasure.status} (execution ${erasure.executionStatus ?? 'unknown'}), started ${erasure.startedAt}${erasure.endedAt ? `, ended ${erasure.endedAt}` : ''}${erasure.certificateId ? `, certificate ${erasure.certificateId}` : ''}${erasure.endReason ? ` (${erasure.endReason})` : ''}`,
        ...erasure.keyStates.map((key) => `  key ${key.keyArn}: ${key.keyState}${key.deletionDate ? `, deletion ${key.deletionDate} (${timeLeft(key.deletionDate)})` : ''}`),
        `  notified: ${status.entries.filter((entry) => entry.erasure === erasure.erasure && entry.event.type === 'NotificationPublished').map((entry) => (entry.event as { kind: string }).kind).join(', ') || 'nothing yet'}`,
      ]),
      ...status.entries.map((entry) => `  #${entry.sequence} ${entry.recordedAt} ${entry.event.type}`),
    ]);
    if (!status.chain.intact) process.exitCode = EXIT.notVerified;
  });

subjectCommand('cancel', "cancel a subject's erasure inside the waiting period: its keys' deletion cancelled (left Disabled), the execution stopped")
  .requiredOption('--reason <text>', 'why: recorded in the ledger and in the cancelled notification')
  .option('--by <name>', 'who decided (default: your user name)')
  .option('--enable', 're-enable the keys, not just cancel their deletion', false)
  .action(async (subjectId, options) => {
    const subject = subjectFingerprintOf(subjectId, options.fingerprint);
    const outcome = await cancel(await resolveTarget(targetOptions(options)), subject, options);
    print(options.json, outcome, () => [
      outcome.outcome === 'already-cancelled' ? `subject ${subject}: erasure ${outcome.erasure} was already cancelled` : `subject ${subject}: erasure cancelled and recorded`,
      ...outcome.keys.map((key) => `  key ${key.keyArn}: ${key.keyState}${key.keyState === 'Deleted' ? ' (KMS had already destroyed it: that cannot be undone)' : ''}`),
    ]);
  });

subjectCommand('hold', 'place a legal hold: any pending deletion is cancelled, and no closure erases the subject until released')
  .requiredOption('--reason <text>', 'why: recorded in the ledger')
  .option('--until <date>', 'the hold lapses at this date (ISO 8601); without it, it binds until released')
  .option('--by <name>', 'who decided (default: your user name)')
  .action(async (subjectId, options) => {
    const subject = subjectFingerprintOf(subjectId, options.fingerprint);
    const outcome = await hold(await resolveTarget(targetOptions(options)), subject, options);
    print(options.json, outcome, () => [
      `subject ${subject}: on legal hold${outcome.until ? ` until ${outcome.until}` : ' until released'}`,
      ...(outcome.cancelled ? [`  its erasure ${outcome.cancelled.erasure} was cancelled: ${outcome.cancelled.keys.map((key) => `${key.keyArn} ${key.keyState}`).join(', ')}`] : []),
    ]);
  });

subjectCommand('release', 'release a subject from a legal hold or a cancelled or stopped erasure: the next closure erases it')
  .requiredOption('--reason <text>', 'why: recorded in the ledger')
  .option('--by <name>', 'who decided (default: your user name)')
  .action(async (subjectId, options) => {
    const subject = subjectFingerprintOf(subjectId, options.fingerprint);
    const outcome = await release(await resolveTarget(targetOptions(options)), subject, options);
    print(options.json, outcome, () => [`subject ${subject}: released (${outcome.released.join(', ')}); its next closure erases it`]);
  });

subjectCommand('certificate', "print a subject's signed erasure certificate, from the ledger").action(async (subjectId, options) => {
  const subject = subjectFingerprintOf(subjectId, options.fingerprint);
  // The certificate is JSON either way: what an auditor keeps and verify-certificate reads.
  process.stdout.write(`${JSON.stringify(await certificateOf(await resolveTarget(targetOptions(options)), subject), null, 2)}\n`);
});

onTarget(program.command('provision <subjectId>').description("create a subject's key as the pipeline erases it: customer managed, the subject tag, the alias, a key policy naming the eraser role"))
  .option('--multi-region', 'create a multi-Region primary key', false)
  .option('--replica-region <region>', 'replicate the key into this Region (repeatable; implies --multi-region)', (region: string, regions: string[]) => [...regions, region], [])
  .option('--eraser-role <arn>', "the pipeline's eraser role, for the key policy (default: the deployment's, known on the embedded AWS)")
  .action(async (subjectId, options) => {
    checkSubjectId(subjectId);
    const provisioned = await provision(await resolveTarget(targetOptions(options)), subjectId, options);
    print(options.json, provisioned, () => provisionLines(provisioned));
    if (provisioned.warning && !options.json) process.stderr.write(`warning: ${provisioned.warning}\n`);
  });

onTarget(program.command('public-key').description("export the certificate signing key's public key (PEM), to verify certificates offline"))
  .option('--out <file>', 'write the PEM to this file instead of printing it')
  .action(async (options) => {
    const { keyArn, pem } = await exportPublicKey(await resolveTarget(targetOptions(options)), options.out);
    if (options.json) print(true, { keyArn, pem }, () => []);
    else if (options.out) process.stdout.write(`wrote the public key of ${keyArn} to ${options.out}\n`);
    else process.stdout.write(pem);
  });

program
  .command('verify-certificate <file>')
  .description('check a signed erasure certificate offline, with the public key alone (no AWS access)')
  .requiredOption('--public-key <pem>', 'the signing key\'s public key, as `erasure public-key` exports it')
  .option('--json', 'print JSON for machines', false)
  .action((file, options) => {
    const check = verifyCertificateFile(file, options.publicKey);
    print(options.json, check, () =>
      check.valid
        ? [`valid: certificate ${check.certificateId}`, `  erasure ${check.erasure}`, `  subject ${check.subject}, erased ${check.completedAt}`, `  signed by ${check.keyArn}`]
        : [`NOT VALID: ${check.problem}`],
    );
    if (!check.valid) process.exitCode = EXIT.notVerified;
  });

program
  .command('diagram')
  .description('print the erasure state machine as a Mermaid stateDiagram-v2, generated from statemachines/erasure.asl.json')
  .action(() => {
    process.stdout.write(`${stateMachineDiagram(readErasureDefinition())}\n`);
  });

program
  .command('events')
  .description('list the sample events in events/ (each replayable as is): what each is, and what the pipeline does with it')
  .option('--dir <dir>', 'list the .json files of another folder instead')
  .option('--json', 'print JSON for machines', false)
  .action((options) => {
    const entries = listCatalog(options.dir);
    print(options.json, entries, () => catalogLines(entries));
  });

program
  .command('replay <paths...>')
  .description('replay closure events (files, arrays, JSON lines, or directories of *.json): on the embedded AWS, or with --stage onto a deployed stage\'s closure bus')
  .option('--stage <name>', 'replay onto this deployed stage (its keys are really scheduled for deletion): asks first, in batches of 10, retried')
  .option('--region <name>', 'the stage\'s AWS Region')
  .option('--endpoint <url>', 'with --stage: the embedded AWS at this endpoint stands in for the stage')
  .option('--json', 'print JSON lines for machines instead of lines for people', false)
  .option('--yes', 'with --stage: do not ask for confirmation (scripts; without a terminal the replay is refused otherwise)', false)
  .option('--force', 'with --stage: replay onto a stage marked protected', false)
  .option('--dry-run', 'with --stage: send nothing; print the keys each closure would erase, or why it would be refused', false)
  .option('--world <file>', 'without --stage: the keys and records to set up on the embedded AWS first')
  .action(async (paths: string[], options) => {
    const events = readReplayInput(paths);
    if (options.stage !== undefined) {
      process.exitCode = await runStageReplay(events, options);
      return;
    }
    const bar = terminalProgress('replaying', options);
    let phase = '';
    const report = await runLocalReplay(events, {
      world: options.world,
      progress: (done, total, current) => {
        if (current !== phase) {
          bar.stop();
          phase = current;
          if (current !== 'running') bar.start(total);
          else process.stderr.isTTY && !options.json && process.stderr.write('running the erasures to their end on the virtual clock...\n');
        }
        if (current !== 'running') bar.advance(1);
      },
    });
    bar.stop();
    process.stdout.write(`${replayLines(report, options.json).join('\n')}\n`);
  });

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return parsed;
}

function positive(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive number');
  return parsed;
}

function notNegative(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('must be zero or more');
  return parsed;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const commanderError = error as { code?: string; exitCode?: number };
  if (commanderError.code === 'commander.helpDisplayed' || commanderError.code === 'commander.version' || commanderError.code === 'commander.help') {
    process.exitCode = EXIT.success;
  } else if (commanderError.code?.startsWith('commander.')) {
    // commander has printed what was wrong with the command line.
    process.exitCode = EXIT.badInput;
  } else {
    // A failure the user can act on is one line, not a stack trace.
    process.stderr.write(`erasure: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
