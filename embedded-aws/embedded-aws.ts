import { randomUUID } from 'node:crypto';
import { useClientHost } from '../functions/lib/runtime/aws-clients.ts';
import { useTimeSource } from '../functions/lib/runtime/clock.ts';
import { Activity } from './activity.ts';
import { VirtualClock } from './clock.ts';
import { EmbeddedCloudWatch, SqsMetrics, StepFunctionsMetrics } from './cloudwatch/index.ts';
import { clockSnapshot, DataDirectory, resumedStart, type ClockSnapshot } from './data-directory.ts';
import { planDeployment, type LocalDeployment } from './deployment/local-deployment.ts';
import { printServerlessConfig } from './deployment/serverless-print.ts';
import { EmbeddedDynamoDb } from './dynamodb/index.ts';
import { deliverToTarget } from './event-targets.ts';
import { EmbeddedEventBridge, type FailedDelivery } from './eventbridge/embedded-event-bridge.ts';
import { setFunctionEnvironment } from './function-environment.ts';
import { EmbeddedKms, type KmsSnapshot } from './kms/index.ts';
import { EmbeddedLambda } from './lambda/embedded-lambda.ts';
import { InProcessTransport, ReusedSignatureV4, type InProcessEndpoint } from './lambda/in-process-transport.ts';
import { concurrentInvocationStore } from './lambda/invocation-store.ts';
import type { FaultInjector, RequestContext } from './protocol.ts';
import { metered, type RequestMeter } from './request-meter.ts';
import { deployResources } from './resource-deployment.ts';
import { EmbeddedAwsServer } from './server.ts';
import { EmbeddedSns } from './sns/embedded-sns.ts';
import { EmbeddedSqs, type QueueMessageView } from './sqs/index.ts';
import { EmbeddedStepFunctions } from './stepfunctions/embedded-step-functions.ts';

export interface EmbeddedAwsOptions {
  /** The project whose serverless.yml is deployed locally; defaults to the working directory. */
  projectRoot?: string;
  port?: number;
  /**
   * How many times faster than real time the virtual clock runs, for a person driving the embedded
   * AWS by hand. Without it the clock is discrete: time stands still while anything works and jumps
   * (in `runToCompletion`, `runUntil`) to the next instant something waits for.
   */
  timeScale?: number;
  start?: Date;
  stage?: string;
  region?: string;
  accountId?: string;
  /** serverless.yml params to override, as `--param` would. */
  params?: Record<string, string>;
  /** KMS request quotas (ThrottlingException over quota); off unless asked for. */
  quotas?: boolean;
  /** How late KMS really deletes a key after its DeletionDate (up to 24 hours on AWS). */
  deletionLagMs?: number;
  faults?: FaultInjector;
  /**
   * Latencies to model in virtual time: handler and API work itself takes none on the discrete
   * clock, so without these every step of an erasure happens at the instant it is asked for. The
   * main job declares AWS-like ones so its timeline reads as it would on AWS.
   */
  latency?: { invocationMs?: number; eventDeliveryMs?: number };
  /** Where the services report what an operator would see in CloudWatch (failed deliveries...). */
  log?: (line: string) => void;
  /** Where SNS `console` subscriptions print. */
  console?: (line: string) => void;
  /**
   * Told of every request a service answers, over loopback or in-process (a function invoked by
   * EventBridge or Step Functions, an alarm's publish): what `npm run bench` counts and prices.
   */
  meter?: RequestMeter;
  /** Set in the functions' environment over serverless.yml's (say, POWERTOOLS_LOG_LEVEL). */
  environment?: Record<string, string>;
  /**
   * Keeps state across restarts in this directory (created if need be): DynamoDB's tables in
   * `dynamodb/` (LevelDB), KMS's keys in `kms.json`, the clock's instant in `clock.json`, which it
   * resumes from, so virtual time never goes backwards. Without it, everything is in memory.
   */
  dataDir?: string;
}

export const DEFAULT_ACCOUNT_ID = '111122223333';
export const EMBEDDED_CREDENTIALS = { accessKeyId: 'AKIAEMBEDDEDAWS00000', secretAccessKey: 'embedded-aws-secret-access-key' };

/**
 * KMS, DynamoDB, SNS, EventBridge, Step Functions and Lambda on one loopback endpoint, deployed from
 * serverless.yml exactly as `osls deploy` would deploy it, sharing one virtual clock. The handlers
 * run in this process and reach it through `AWS_ENDPOINT_URL`, like any SDK or the AWS CLI; nothing
 * in them knows which AWS they talk to.
 */
export class EmbeddedAws {
  readonly endpoint: string;
  readonly clock: VirtualClock;
  readonly deployment: LocalDeployment;
  readonly kms: EmbeddedKms;
  readonly sns: EmbeddedSns;
  readonly events: EmbeddedEventBridge;
  readonly stepFunctions: EmbeddedStepFunctions;
  readonly lambda: EmbeddedLambda;
  readonly queues: EmbeddedSqs;
  readonly alarms: EmbeddedCloudWatch;
  readonly dynamodb: EmbeddedDynamoDb;
  private readonly activity: Activity;
  private readonly server: EmbeddedAwsServer;
  private readonly dataDirectory: DataDirectory | undefined;
  private readonly restoreTime: () => void;
  private readonly restoreEnvironment: () => void;
  private readonly restoreTransport: () => void;

  constructor(parts: {
    endpoint: string;
    clock: VirtualClock;
    deployment: LocalDeployment;
    kms: EmbeddedKms;
    sns: EmbeddedSns;
    events: EmbeddedEventBridge;
    stepFunctions: EmbeddedStepFunctions;
    lambda: EmbeddedLambda;
    queues: EmbeddedSqs;
    alarms: EmbeddedCloudWatch;
    dynamodb: EmbeddedDynamoDb;
    activity: Activity;
    server: EmbeddedAwsServer;
    dataDirectory: DataDirectory | undefined;
    restoreTime: () => void;
    restoreEnvironment: () => void;
    restoreTransport: () => void;
  }) {
    this.endpoint = parts.endpoint;
    this.clock = parts.clock;
    this.deployment = parts.deployment;
    this.kms = parts.kms;
    this.sns = parts.sns;
    this.events = parts.events;
    this.stepFunctions = parts.stepFunctions;
    this.lambda = parts.lambda;
    this.queues = parts.queues;
    this.alarms = parts.alarms;
    this.dynamodb = parts.dynamodb;
    this.activity = parts.activity;
    this.server = parts.server;
    this.dataDirectory = parts.dataDirectory;
    this.restoreTime = parts.restoreTime;
    this.restoreEnvironment = parts.restoreEnvironment;
    this.restoreTransport = parts.restoreTransport;
  }

  /** What an SDK client needs to talk to this AWS. */
  get clientConfig() {
    return { endpoint: this.endpoint, region: this.deployment.region, credentials: EMBEDDED_CREDENTIALS };
  }

  /** The ARN of a resource declared in serverless.yml, by its logical id. */
  arnOf(logicalId: string): string {
    return this.resource(logicalId).arn;
  }

  nameOf(logicalId: string): string {
    return this.resource(logicalId).name;
  }

  private resource(logicalId: string): { name: string; arn: string } {
    const { topics, eventBuses, queues, tables, stateMachines, alarms } = this.deployment;
    const found = [...topics, ...eventBuses, ...queues, ...tables, ...stateMachines, ...alarms].find((resource) => resource.logicalId === logicalId);
    if (!found) throw new Error(`serverless.yml declares no ${logicalId}`);
    return found;
  }

  /**
   * Everything that never reached its target: the dead-letter queues' messages (EventBridge dead
   * letters, Lambda on-failure records) and deliveries AWS would have dropped for want of a queue.
   */
  deadLetters(): (QueueMessageView | FailedDelivery)[] {
    return [...this.queues.messages(), ...this.events.droppedDeliveries()];
  }

  /** Resolves when no event, invocation, notification or execution is in flight. */
  async idle(): Promise<void> {
    const services = [this.events, this.lambda, this.stepFunctions, this.sns, this.alarms];
    // One service's work may start another's (a rule invokes a function, which starts an
    // execution): settle until, a turn of the event loop later, none of them has work.
    do {
      await Promise.all(services.map((service) => service.idle()));
      await new Promise((resolve) => setImmediate(resolve));
    } while (services.some((service) => service.busy));
  }

  /**
   * Runs every execution to its end on the virtual clock: whenever no request, invocation, delivery
   * or notification is at work, time jumps to the next instant anything waits for (a Wait state, a
   * retry, a paced call, a key's deletion). A 30-day erasure then takes the real time its handlers
   * need. Gives up once `maxVirtualMs` of virtual time has passed with executions still running.
   */
  async runToCompletion(options: { maxVirtualMs?: number; beforeEachJump?: () => void } = {}): Promise<void> {
    const limitMs = options.maxVirtualMs ?? 400 * 86_400_000;
    const deadline = this.clock.nowMs() + limitMs;
    for (;;) {
      await this.quiet();
      if (!this.stepFunctions.busy) return;
      const next = this.clock.nextWake();
      if (next === undefined) {
        if (!this.clock.discrete) continue;
        throw new Error('executions are running, but nothing they wait for will ever come (no timer, no work)');
      }
      if (next.getTime() > deadline) throw new Error(`executions still running after ${Math.round(limitMs / 86_400_000)} virtual days`);
      options.beforeEachJump?.();
      this.clock.advanceTo(next);
    }
  }

  /** Runs the embedded AWS until virtual time reaches `instant`, moving time as runToCompletion does. */
  async runUntil(instant: Date): Promise<void> {
    for (;;) {
      await this.quiet();
      const next = this.clock.nextWake();
      if (next === undefined || next.getTime() > instant.getTime()) break;
      this.clock.advanceTo(next);
    }
    this.clock.advanceTo(instant);
    await this.quiet();
  }

  /**
   * Resolves once no unit of work (a request being served, an invocation, a delivery, a
   * notification) has been at work for a few turns of the event loop, so an execution between two
   * states is not taken for one that waits. Executions may still be running (waiting on the clock).
   */
  async quiet(): Promise<void> {
    let quietTurns = 0;
    while (quietTurns < 3) {
      // A turn of the event loop lets every settled promise run: a state that follows another
      // starts its task within it.
      await new Promise((resolve) => setImmediate(resolve));
      quietTurns = this.activity.busy ? 0 : quietTurns + 1;
    }
  }

  async close(): Promise<void> {
    this.stepFunctions.close();
    await this.lambda.close();
    await this.events.close();
    await this.alarms.close();
    await this.sns.close();
    this.queues.close();
    this.kms.close();
    this.restoreTransport();
    await this.server.close();
    await this.dynamodb.close();
    await this.dataDirectory?.close();
    this.restoreTime();
    this.restoreEnvironment();
    running = false;
  }
}

// The handlers keep their SDK clients and clock at module scope, as on Lambda, and this process
// has one copy of each module: two embedded AWSes at once would share them.
let running = false;

export async function startEmbeddedAws(options: EmbeddedAwsOptions = {}): Promise<EmbeddedAws> {
  if (running) throw new Error('an embedded AWS is already running in this process; close it before starting another');
  running = true;
  try {
    return await deployEmbeddedAws(options);
  } catch (error) {
    running = false;
    throw error;
  }
}

async function deployEmbeddedAws(options: EmbeddedAwsOptions): Promise<EmbeddedAws> {
  // What has been opened so far, closed in reverse if a later step fails: a failed start leaves no
  // server listening, no database holding its data directory's lock, no timer, no patched globals.
  const opened: (() => unknown)[] = [];
  try {
    return await deployParts(options, opened);
  } catch (error) {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch {
        // The start's own failure is the one to report.
      }
    }
    throw error;
  }
}

async function deployParts(options: EmbeddedAwsOptions, opened: (() => unknown)[]): Promise<EmbeddedAws> {
  const projectRoot = options.projectRoot ?? process.cwd();
  const region = options.region ?? 'eu-west-1';
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const log = options.log ?? ((line: string) => console.warn(line));
  const dataDirectory = options.dataDir === undefined ? undefined : await DataDirectory.open(options.dataDir, (error) => log(`[data-dir] ${String(error)}`));
  if (dataDirectory) opened.push(() => dataDirectory.abandon());
  const config = await printServerlessConfig(projectRoot, options.stage ?? 'local', region, options.params);
  const deployment = planDeployment(config, accountId);
  // Started once the configuration is read, so the seconds osls takes do not become weeks.
  const activity = new Activity();
  const clock = new VirtualClock({ timeScale: options.timeScale, activity, start: resumedStart(dataDirectory?.read<ClockSnapshot>('clock'), options.start) });
  dataDirectory?.keep('clock', clockSnapshot(clock));

  let listening: string | undefined;
  const queues = new EmbeddedSqs({ clock, faults: options.faults, log, endpoint: () => listening });
  opened.push(() => queues.close());
  const invocations = await concurrentInvocationStore();
  const lambda = new EmbeddedLambda({
    projectRoot,
    clock,
    functions: deployment.functions,
    deadLetters: queues,
    invocations,
    faults: options.faults,
    meter: options.meter,
    log,
    modelledDurationMs: options.latency?.invocationMs,
  });
  opened.push(() => lambda.close());
  const stepFunctions = new EmbeddedStepFunctions({
    clock,
    faults: options.faults,
    invokeFunction: (arn, payload) => lambda.invoke(arn, payload),
    sendQueueMessage: (input) =>
      metered(options.meter, { service: 'sqs', operation: 'SendMessage', input }, () =>
        queues.call('SendMessage', input, { region, accountId, accessKeyId: 'states.amazonaws.com', requestId: randomUUID() }),
      ),
    // Execution status changes go to the default bus, as on AWS; executions start only once
    // `events` below exists.
    emit: (event) => {
      // AWS/States metrics are Step Functions' own, whether or not EventBridge takes the event.
      executionMetrics.record(event);
      events.putEvent(event);
    },
  });
  opened.push(() => stepFunctions.close());
  const executionMetrics = new StepFunctionsMetrics();
  const sns = new EmbeddedSns({ clock, faults: options.faults, accountId, log, console: options.console, endpoint: () => listening });
  opened.push(() => sns.close());
  const events: EmbeddedEventBridge = new EmbeddedEventBridge({
    clock,
    deliveryLatencyMs: options.latency?.eventDeliveryMs,
    faults: options.faults,
    log,
    queues,
    deliver: (target, event) => deliverToTarget(target, event, { lambda, stepFunctions, sns, region, accountId, meter: options.meter }),
  });
  opened.push(() => events.close());
  const kms = new EmbeddedKms({
    clock,
    accountId,
    faults: options.faults,
    quotas: options.quotas ?? false,
    deletionLagMs: options.deletionLagMs,
    emit: (event) => events.putEvent(event),
    restore: dataDirectory?.read<KmsSnapshot>('kms'),
  });
  opened.push(() => kms.close());
  dataDirectory?.keep('kms', () => kms.snapshot());
  const dynamodb = await EmbeddedDynamoDb.open({ region, accountId, faults: options.faults, path: dataDirectory?.resolve('dynamodb') });
  opened.push(() => dynamodb.close());

  const alarms = new EmbeddedCloudWatch({
    clock,
    faults: options.faults,
    log,
    metrics: [executionMetrics, new SqsMetrics(queues)],
    notify: async (topicArn, subject, message) => {
      const alarmContext: RequestContext = { region, accountId, accessKeyId: 'cloudwatch.amazonaws.com', requestId: randomUUID() };
      const publish = { Action: 'Publish', TopicArn: topicArn, Subject: subject, Message: message };
      await metered(options.meter, { service: 'sns', operation: 'Publish', input: publish }, () => sns.handle('Publish', publish, alarmContext));
    },
  });
  opened.push(() => alarms.close());

  const server = new EmbeddedAwsServer({
    port: options.port,
    defaultRegion: region,
    accountId,
    jsonServices: [kms, events, stepFunctions, alarms],
    httpJsonServices: [dynamodb, queues],
    queryServices: [sns, queues],
    meter: options.meter,
    activity,
  });
  const endpoint = await server.listen();
  opened.push(() => server.close());
  listening = endpoint;

  await deployResources(deployment, { kms, sns, events, stepFunctions, queues, alarms }, { endpoint, region, accountId, credentials: EMBEDDED_CREDENTIALS });

  const restoreEnvironment = setFunctionEnvironment(deployment, endpoint, EMBEDDED_CREDENTIALS, options.environment ?? {});
  opened.push(restoreEnvironment);
  const restoreTime = useTimeSource({ now: () => clock.now(), sleep: (ms) => clock.sleep(ms) });
  opened.push(restoreTime);
  // The functions' SDK clients hand their requests to the server in-process: the same requests,
  // signed and metered as over loopback, without a socket's cost (see in-process-transport.ts).
  let serving = true;
  const inProcess: InProcessEndpoint = { url: endpoint, dispatch: (request) => server.dispatch(request), get open() { return serving; } };
  const restoreHost = useClientHost({ requestHandler: (overHttp) => new InProcessTransport(inProcess, overHttp), signerConstructor: ReusedSignatureV4 });
  const restoreTransport = () => {
    serving = false;
    restoreHost();
  };

  // Lambda polls the functions' SQS event sources once their environment is in place.
  lambda.startEventSources(deployment.eventSourceMappings, queues);

  return new EmbeddedAws({ endpoint, clock, deployment, kms, sns, events, stepFunctions, lambda, queues, alarms, dynamodb, activity, server, dataDirectory, restoreTime, restoreEnvironment, restoreTransport });
}
