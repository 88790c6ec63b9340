import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import type { EmbeddedAws } from '../embedded-aws/embedded-aws.ts';
import { printServerlessConfig } from '../embedded-aws/deployment/serverless-print.ts';
import { closureEvent, deploySubjectKeys, erasureOutcomes, startBenchAws } from './closure-world.ts';
import { DECLARED_LAMBDA_DURATION_MS, dollarsOf, type BilledUsage } from './list-prices.ts';
import { rounded } from './metrics.ts';
import { RequestLog, isThrottled } from './request-log.ts';

export interface ErasureCost {
  /** How the ledger says the erasure ended: the figures mean something only for `completed`. */
  outcome: string;
  /** Virtual days from the closure to the execution's end. */
  virtualDays: number | null;
  usage: BilledUsage;
  dollars: number;
  dollarsByService: Record<string, number>;
}

export interface CostResult {
  quiet: ErasureCost;
  lag24h: ErasureCost;
  assumptions: { lambdaDurationMs: number; lambdaArchitecture: string; dynamodbUnitsPerRequest: number };
}

const DAY_MS = 86_400_000;

interface FunctionSizing {
  architecture: string;
  memoryMbByName: Map<string, number>;
}

/** One erasure with KMS deleting the key on its DeletionDate, and one with KMS a day late (which it may be). */
export async function runCost(): Promise<CostResult> {
  const sizing = await functionSizing();
  const quiet = await measureOneErasure(0, sizing);
  const lag24h = await measureOneErasure(DAY_MS, sizing);
  return {
    quiet,
    lag24h,
    assumptions: { lambdaDurationMs: DECLARED_LAMBDA_DURATION_MS, lambdaArchitecture: sizing.architecture, dynamodbUnitsPerRequest: 1 },
  };
}

async function measureOneErasure(deletionLagMs: number, sizing: FunctionSizing): Promise<ErasureCost> {
  const requests = new RequestLog();
  const aws = await startBenchAws(requests.meter, { deletionLagMs });
  try {
    const [subject] = await deploySubjectKeys(aws, 1, 'cost-subject');
    const closure = closureEvent(aws, subject!.subjectId, aws.clock.now());
    const closedAtMs = aws.clock.now().getTime();
    requests.start(aws.clock);
    // Published as the upstream system publishes it, so that its PutEvents entry is counted too.
    const put = await new EventBridgeClient(aws.clientConfig).send(
      new PutEventsCommand({
        Entries: [{ EventBusName: aws.nameOf('ClosureEventBus'), Source: closure.source, DetailType: closure['detail-type'], Detail: JSON.stringify(closure.detail) }],
      }),
    );
    const eventId = put.Entries?.[0]?.EventId ?? '';
    await aws.runToCompletion();
    await aws.idle();
    requests.stop();

    const [outcome] = await erasureOutcomes(aws, [{ subjectId: subject!.subjectId, eventId }]);
    const execution = await onlyExecution(aws);
    const lambdaInvocations = requests.requests.filter((request) => request.service === 'lambda' && request.errorCode === undefined);
    const memoryMbOf = (functionArn: string | undefined) => {
      const key = aws.deployment.functions.find((fn) => fn.arn === functionArn)?.key;
      const memoryMb = key === undefined ? undefined : sizing.memoryMbByName.get(key);
      if (memoryMb === undefined) throw new Error(`no memory size known for the function ${functionArn}`);
      return memoryMb;
    };
    const gbSeconds = lambdaInvocations.reduce((sum, invocation) => sum + (memoryMbOf(invocation.resource) / 1024) * (DECLARED_LAMBDA_DURATION_MS / 1000), 0);
    const dynamodb = requests.dynamodbUnits();
    const usage: BilledUsage = {
      transitions: execution.transitions,
      lambdaInvocations: lambdaInvocations.length,
      lambdaGbSeconds: rounded(gbSeconds, 6),
      // Every request KMS answered, errors included (DescribeKey's NotFoundException is the proof of
      // deletion), except those it throttled before serving them.
      kmsRequests: requests.count('kms', (request) => !isThrottled(request)),
      snsPublishes: requests.count('sns', (request) => request.operation === 'Publish' && request.errorCode === undefined),
      dynamodbWriteUnits: dynamodb.writes,
      dynamodbReadUnits: dynamodb.reads,
      eventBridgeEntries: requests.requests
        .filter((request) => request.service === 'events' && request.operation === 'PutEvents' && request.errorCode === undefined)
        .reduce((sum, request) => sum + (request.entries ?? 0), 0),
      sqsRequests: requests.count('sqs', (request) => !isThrottled(request)),
    };
    const dollars = dollarsOf(usage, sizing.architecture);
    return {
      outcome: outcome?.status ?? 'none',
      virtualDays: execution.stoppedAtMs === undefined ? null : rounded((execution.stoppedAtMs - closedAtMs) / DAY_MS, 3),
      usage,
      dollars: rounded(dollars.total, 8),
      dollarsByService: Object.fromEntries(Object.entries(dollars.byService).map(([service, amount]) => [service, rounded(amount, 8)])),
    };
  } finally {
    await aws.close();
  }
}

/**
 * The erasure's state transitions, counted from its history as Step Functions bills them: each
 * state entered, and each retry (https://aws.amazon.com/step-functions/pricing/).
 */
async function onlyExecution(aws: EmbeddedAws): Promise<{ transitions: number; stoppedAtMs: number | undefined }> {
  const executions = aws.stepFunctions.executionsOf(aws.arnOf('ErasureStateMachine'));
  if (executions.length !== 1) throw new Error(`expected one erasure execution, found ${executions.length}`);
  const { executionArn } = executions[0]!;
  const stepFunctions = new SFNClient(aws.clientConfig);
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await stepFunctions.send(new GetExecutionHistoryCommand({ executionArn, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const described = await stepFunctions.send(new DescribeExecutionCommand({ executionArn }));
  return {
    // StateRetried is the embedded history's record of a retry (AWS's shows the Task scheduled again).
    transitions: events.filter((event) => event.type?.endsWith('StateEntered') || String(event.type) === 'StateRetried').length,
    stoppedAtMs: described.stopDate?.getTime(),
  };
}

/** Each function's memory and the architecture, as serverless.yml declares them (what Lambda bills by). */
async function functionSizing(): Promise<FunctionSizing> {
  const config = await printServerlessConfig(process.cwd(), 'local', 'eu-west-1');
  const provider = config.provider as { memorySize?: number; architecture?: string };
  // The Serverless Framework's own default when serverless.yml names no memory size.
  const defaultMemoryMb = provider.memorySize ?? 1024;
  const memoryMbByName = new Map<string, number>();
  for (const [key, fn] of Object.entries(config.functions)) {
    const memoryMb = (fn as { memorySize?: number }).memorySize ?? defaultMemoryMb;
    memoryMbByName.set(key, memoryMb);
  }
  return { architecture: provider.architecture ?? 'x86_64', memoryMbByName };
}
