import { userInfo } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DEFAULT_ACCOUNT_ID, EMBEDDED_CREDENTIALS } from '../embedded-aws/embedded-aws.ts';
import { planDeployment } from '../embedded-aws/deployment/local-deployment.ts';
import { printServerlessConfig } from '../embedded-aws/deployment/serverless-print.ts';
import { ledgerTable } from '../functions/lib/aws/ledger-table.ts';
import { erasureLedger, type Ledger } from '../functions/lib/ledger/ledger.ts';
import { CliError } from './exit-codes.ts';
import { stageSettingsOf, type StageSettings } from './stage-settings.ts';

/** Where an operator's command acts: the embedded AWS (`erasure local`) by default, or a deployed stage. */
export interface TargetOptions {
  /** An embedded AWS's endpoint; the default is `erasure local`'s. */
  endpoint?: string;
  /** A deployed stage, reached through the ordinary AWS credential chain. */
  stage?: string;
  region?: string;
}

export interface Target {
  kind: 'embedded' | 'aws';
  description: string;
  stage: string;
  region: string;
  accountId: string;
  clients: { kms: KMSClient; sfn: SFNClient; sns: SNSClient; dynamodb: DynamoDBClient; eventBridge: EventBridgeClient };
  /** How the clients are made: a multi-Region key's replicas are reached with a client of their own Region. */
  clientConfig: { region: string; endpoint?: string; credentials?: typeof EMBEDDED_CREDENTIALS };
  /** The stage's params as serverless.yml resolves them: whether it is protected, its key policy. */
  settings: StageSettings;
  ledger: Ledger;
  /** The stage's resources, named as serverless.yml names them. */
  resources: {
    stateMachineArn: string;
    ledgerTableName: string;
    erasureTopicArn: string;
    oncallTopicArn: string;
    signingKeyAlias: string;
    closureBusName: string;
    /**
     * The role that disables and schedules keys (KeyEraserRole), as the notify function is told it.
     * Known on the embedded AWS only: CloudFormation names a deployed role with a random suffix.
     */
    eraserRoleArn: string | undefined;
  };
  /** Who is acting, as the ledger records it. */
  operator: string;
  now: () => Date;
}

export const DEFAULT_LOCAL_ENDPOINT = 'http://127.0.0.1:4566';

export async function resolveTarget(options: TargetOptions, projectRoot = process.cwd()): Promise<Target> {
  const embedded = options.stage === undefined || options.endpoint !== undefined;
  const stage = options.stage ?? 'local';
  const region = options.region ?? (embedded ? 'eu-west-1' : process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'eu-west-1');
  const endpoint = embedded ? (options.endpoint ?? DEFAULT_LOCAL_ENDPOINT) : undefined;
  const config = endpoint ? { endpoint, region, credentials: EMBEDDED_CREDENTIALS } : { region };
  const clients = {
    kms: new KMSClient(config),
    sfn: new SFNClient(config),
    sns: new SNSClient(config),
    dynamodb: new DynamoDBClient(config),
    // PutEvents is retried by its callers, failed entry by failed entry with full jitter (a call's
    // FailedEntryCount is no SDK error); SDK retries on top would multiply the attempts unseen.
    eventBridge: new EventBridgeClient({ ...config, maxAttempts: 1 }),
  };

  // serverless.yml names every resource; the state machine's ARN tells the account it lives in.
  const serverlessConfig = await printServerlessConfig(projectRoot, stage, region);
  const plan = planDeployment(serverlessConfig, DEFAULT_ACCOUNT_ID);
  const machine = only(plan.stateMachines, 'state machine');
  const deployedArn = await findStateMachine(clients.sfn, machine.name, embedded ? `is \`npx erasure local\` running at ${endpoint}?` : `is stage ${stage} deployed in ${region}?`);
  const accountId = deployedArn.split(':')[4] ?? DEFAULT_ACCOUNT_ID;
  const topic = (logicalId: string) => {
    const found = plan.topics.find((candidate) => candidate.logicalId === logicalId);
    if (!found) throw new CliError('failed', `serverless.yml declares no ${logicalId}`);
    return found.arn.replace(`:${DEFAULT_ACCOUNT_ID}:`, `:${accountId}:`);
  };
  const ledgerTableName = declared(plan.tables, 'LedgerTable').name;

  return {
    kind: embedded ? 'embedded' : 'aws',
    description: embedded ? `the embedded AWS at ${endpoint} (stage ${stage})` : `stage ${stage} in ${region}, account ${accountId}`,
    stage,
    region,
    accountId,
    clients,
    clientConfig: config,
    settings: stageSettingsOf(serverlessConfig),
    ledger: erasureLedger(ledgerTable(clients.dynamodb, ledgerTableName), () => new Date()),
    resources: {
      stateMachineArn: deployedArn,
      ledgerTableName,
      erasureTopicArn: topic('ErasureNotificationsTopic'),
      oncallTopicArn: topic('OnCallAlertsTopic'),
      signingKeyAlias: declared(plan.kmsAliases, 'CertificateSigningKeyAlias').aliasName,
      closureBusName: declared(plan.eventBuses, 'ClosureEventBus').name,
      eraserRoleArn: embedded ? plan.functions.find((fn) => fn.environment.ERASER_ROLE_ARN)?.environment.ERASER_ROLE_ARN?.replace(`::${DEFAULT_ACCOUNT_ID}:`, `::${accountId}:`) : undefined,
    },
    operator: operatorName(),
    now: () => new Date(),
  };
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new CliError('failed', `serverless.yml should declare one ${what}, declares ${items.length}`);
  return items[0]!;
}

function declared<T extends { logicalId: string }>(items: T[], logicalId: string): T {
  const found = items.find((item) => item.logicalId === logicalId);
  if (!found) throw new CliError('failed', `serverless.yml declares no ${logicalId}`);
  return found;
}

async function findStateMachine(sfn: SFNClient, name: string, hint: string): Promise<string> {
  let nextToken: string | undefined;
  try {
    do {
      const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
      const found = page.stateMachines?.find((machine) => machine.name === name);
      if (found?.stateMachineArn) return found.stateMachineArn;
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    throw new CliError('failed', `cannot reach Step Functions (${(error as Error).name}: ${(error as Error).message}); ${hint}`);
  }
  throw new CliError('failed', `no state machine ${name}; ${hint}`);
}

/** The person at the keyboard, as the ledger records a decision; `--by` names someone else. */
function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown operator';
  }
}

