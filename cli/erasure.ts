import { Command, InvalidArgumentError } from 'commander';
import { runMainJob } from './demo/main-job.ts';
import { runLocal } from './local-server.ts';

/**
 * `erasure`: one ops command, with a subcommand per job. Today: the embedded AWS as a server, and
 * the narrated end-to-end erasure (`npm start`). Replay, status, cancel and verify-certificate join
 * it as their issues land.
 */
const program = new Command('erasure').description('Cryptographic erasure on AWS: operate and demonstrate the pipeline.');

program
  .command('local')
  .description('run the embedded AWS (KMS, EventBridge, Step Functions, SNS, Lambda) on loopback, deployed from serverless.yml')
  .option('--port <n>', 'port to listen on (0 picks a free one)', integer, 4566)
  .option('--time-scale <N>', 'run the virtual clock N times faster than real time', positive, 1)
  .option('--stage <name>', 'serverless.yml stage to deploy locally', 'local')
  .option('--region <name>', 'AWS Region the local resources live in', 'eu-west-1')
  .option('--quotas', 'enforce KMS request quotas (ThrottlingException over quota)', false)
  .option('--deletion-lag-hours <h>', 'how long after its deletion date KMS really deletes a key (AWS: up to 24)', notNegative, 0)
  .action(async (options) => {
    await runLocal(options);
  });

program
  .command('demo')
  .description('the main job: a narrated end-to-end erasure on the embedded AWS')
  .option('--time-scale <N>', 'virtual clock speed; the default runs a 30-day waiting period in about 5 seconds', positive, 500_000)
  .action(async (options) => {
    process.exitCode = await runMainJob(options);
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
  // A failure the user can act on is one line, not a stack trace.
  process.stderr.write(`erasure: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
