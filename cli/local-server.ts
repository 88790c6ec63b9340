import { EMBEDDED_CREDENTIALS, startEmbeddedAws } from '../embedded-aws/embedded-aws.ts';

export interface LocalOptions {
  port: number;
  timeScale: number;
  stage: string;
  region: string;
  quotas: boolean;
  deletionLagHours: number;
  dataDir?: string;
}

/**
 * The embedded AWS as a long-running server. Its first line of output, `endpoint <url>`, is the
 * signal that it is ready (scripts wait for it); it runs until SIGINT or SIGTERM.
 */
export async function runLocal(options: LocalOptions): Promise<void> {
  const aws = await startEmbeddedAws({
    port: options.port,
    timeScale: options.timeScale,
    stage: options.stage,
    region: options.region,
    quotas: options.quotas,
    deletionLagMs: options.deletionLagHours * 3_600_000,
    dataDir: options.dataDir,
    console: (line) => console.log(line),
  });
  for (const topic of aws.deployment.topics) aws.sns.subscribeLocal(topic.arn, 'console', 'stdout');

  console.log(`endpoint ${aws.endpoint}`);
  console.log(`region ${aws.deployment.region} · account ${aws.deployment.accountId} · clock ${options.timeScale}x real time`);
  console.log(options.dataDir === undefined ? 'state in memory (--data-dir keeps it across restarts)' : `state kept in ${options.dataDir} · clock at ${aws.clock.now().toISOString()}`);
  console.log('deployed from serverless.yml:');
  console.log(`  closure event bus   ${aws.nameOf('ClosureEventBus')}`);
  for (const machine of aws.deployment.stateMachines) console.log(`  state machine       ${machine.arn}`);
  for (const topic of aws.deployment.topics) console.log(`  topic               ${topic.arn}`);
  for (const table of aws.deployment.tables) console.log(`  table               ${table.name}`);
  console.log('use it with any SDK or the AWS CLI, for example:');
  console.log(`  export AWS_ENDPOINT_URL=${aws.endpoint} AWS_REGION=${aws.deployment.region} AWS_ACCESS_KEY_ID=${EMBEDDED_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${EMBEDDED_CREDENTIALS.secretAccessKey}`);
  console.log(`  aws --endpoint-url ${aws.endpoint} kms create-key`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await aws.close();
  console.log('embedded AWS stopped');
}
