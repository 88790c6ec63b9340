import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { planDeployment, type LocalDeployment } from '../../embedded-aws/deployment/local-deployment.ts';
import { printServerlessConfig } from '../../embedded-aws/deployment/serverless-print.ts';
import { invokeForResult, loadHandler } from '../../embedded-aws/lambda/local-functions.ts';
import { allStates, type Definition } from '../../embedded-aws/stepfunctions/definition.ts';
import { useTimeSource } from '../../functions/lib/runtime/clock.ts';
import { mockLedgerTable } from './ledger-mock.ts';
import { ACCOUNT_ID, REGION } from './settings.ts';

/**
 * Runs statemachines/erasure.asl.json with aws-local-stepfunctions, every Task calling the real
 * handler (as serverless.yml wires it, read the way the embedded AWS reads it) over whatever mocked
 * clients the test set up. Waits take no
 * time; instead the handlers' clock jumps to the instant the Wait state waited for before the next
 * check, so KMS's waiting period passes exactly as the state machine asked.
 */
let deployment: Promise<LocalDeployment> | undefined;

/** serverless.yml resolved by osls for the `test` stage, once per test file. */
export function erasureDeployment(): Promise<LocalDeployment> {
  deployment ??= printServerlessConfig(process.cwd(), 'test', REGION).then((config) => planDeployment(config, ACCOUNT_ID));
  return deployment;
}

export async function erasureDefinition(): Promise<Definition> {
  const [machine] = (await erasureDeployment()).stateMachines;
  if (!machine) throw new Error('serverless.yml declares no state machine');
  return machine.definition;
}

export interface PublishedNotification {
  topicArn: string;
  kind: string;
  subject: string;
  message: Record<string, unknown>;
}

export interface ErasureRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  statesEntered: string[];
  notifications: PublishedNotification[];
  /** What each CheckDeletion answered, in order. */
  verifications: { status: string; nextCheckAt: string | null }[];
  /** The types of the ledger events the run recorded, in order. */
  ledger: string[];
}

export interface RunOptions {
  /** The handlers' "now" when the execution starts; the clock then jumps through every Wait. */
  start: Date;
  /** Called before each CheckDeletion with how many checks came before it: lets a test act during the waiting period. */
  beforeCheck?: (checksSoFar: number) => void;
}

export async function runErasure(input: unknown, options: RunOptions): Promise<ErasureRun> {
  const definition = await erasureDefinition();
  const { functions } = await erasureDeployment();
  const states = allStates(definition);

  let now = options.start;
  const restoreClock = useTimeSource({ now: () => now });
  const sns = mockClient(SNSClient);
  const ledger = mockLedgerTable();
  const notifications: PublishedNotification[] = [];
  sns.on(PublishCommand).callsFake((publish) => {
    notifications.push({
      topicArn: publish.TopicArn,
      kind: publish.MessageAttributes?.eventType?.StringValue ?? '',
      subject: publish.Subject,
      message: JSON.parse(publish.Message),
    });
    return { MessageId: `message-${notifications.length}` };
  });

  const taskHandlers: Record<string, (payload: unknown) => Promise<never>> = {};
  let checks = 0;
  let waitedUntil: string | null = null;
  const verifications: ErasureRun['verifications'] = [];
  for (const [stateName, state] of states) {
    if (state.Type !== 'Task') continue;
    const fn = functions.find((candidate) => candidate.arn === state.Resource);
    if (!fn) throw new Error(`state ${stateName} calls ${String(state.Resource)}, which serverless.yml does not declare`);
    const handler = await loadHandler(process.cwd(), fn.handler);
    taskHandlers[stateName] = async (payload) => {
      if (stateName !== 'CheckDeletion') return (await invokeForResult(handler, fn, payload)) as never;
      // The check after a Wait happens at the instant the Wait waited for.
      if (waitedUntil) now = new Date(Math.max(now.getTime(), Date.parse(waitedUntil)));
      options.beforeCheck?.(checks++);
      const verification = (await invokeForResult(handler, fn, payload)) as ErasureRun['verifications'][number];
      verifications.push(verification);
      waitedUntil = verification.nextCheckAt;
      return verification as never;
    };
  }

  const ledgerEvents = () => [...ledger.table.rows.values()].flat().map((entry) => entry.event.type);
  const statesEntered: string[] = [];
  // The runner times a machine's TimeoutSeconds with a real setTimeout, which cannot hold 90 days;
  // the embedded AWS times it on its virtual clock, and its tests cover the timeout.
  const { TimeoutSeconds: _timeout, ...untimed } = definition as Definition & { TimeoutSeconds?: number };
  const machine = new StateMachine(untimed as unknown as StateMachineDefinition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: taskHandlers,
      waitTimeOverrides: { WaitUntilNextCheck: 0 },
      retryIntervalOverrides: Object.fromEntries([...states.keys()].map((name) => [name, 0])),
    },
    context: { Execution: { Id: `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:crypto-erasure-test:erasure-test`, Name: 'erasure-test' } },
  });

  const logging = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') statesEntered.push(event.state.name);
    }
  })();

  try {
    const output = (await execution.result) as Record<string, unknown>;
    await logging;
    return { status: 'SUCCEEDED', output, statesEntered, notifications, verifications, ledger: ledgerEvents() };
  } catch (error) {
    await logging.catch(() => undefined);
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { status: 'FAILED', error: cause.name, cause: cause.message, statesEntered, notifications, verifications, ledger: ledgerEvents() };
  } finally {
    restoreClock();
    sns.restore();
    ledger.documents.restore();
  }
}
