/**
 * serverless.yml's resources created in the running embedded services, as CloudFormation would
 * create them: topics, buses, queues, rules, state machines, alarms, keys and aliases, tables.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EmbeddedCloudWatch } from './cloudwatch/index.ts';
import type { LocalDeployment } from './deployment/local-deployment.ts';
import { deployTables } from './dynamodb/index.ts';
import type { EmbeddedEventBridge } from './eventbridge/embedded-event-bridge.ts';
import type { EmbeddedKms } from './kms/index.ts';
import type { RequestContext } from './protocol.ts';
import type { EmbeddedSns } from './sns/embedded-sns.ts';
import type { EmbeddedSqs } from './sqs/index.ts';
import type { EmbeddedStepFunctions } from './stepfunctions/embedded-step-functions.ts';

export async function deployResources(
  deployment: LocalDeployment,
  services: { kms: EmbeddedKms; sns: EmbeddedSns; events: EmbeddedEventBridge; stepFunctions: EmbeddedStepFunctions; queues: EmbeddedSqs; alarms: EmbeddedCloudWatch },
  target: { endpoint: string; region: string; accountId: string; credentials: { accessKeyId: string; secretAccessKey: string } },
): Promise<void> {
  const { kms, sns, events, stepFunctions, queues, alarms } = services;
  const { endpoint, region, accountId, credentials } = target;
  const context: RequestContext = { region, accountId, accessKeyId: credentials.accessKeyId, requestId: randomUUID() };
  for (const topic of deployment.topics) await sns.handle('CreateTopic', { Action: 'CreateTopic', Name: topic.name }, context);
  for (const bus of deployment.eventBuses) await events.handle('CreateEventBus', { Name: bus.name }, context);
  for (const queue of deployment.queues) queues.deployQueue({ region, accountId }, queue.name, queue.attributes);
  for (const rule of deployment.rules) {
    events.addRule({
      region,
      accountId,
      name: rule.name,
      eventBusName: rule.eventBusName,
      eventPattern: rule.pattern,
      scheduleExpression: rule.scheduleExpression,
      state: rule.state,
      description: rule.description,
      targets: rule.targets,
    });
  }
  for (const machine of deployment.stateMachines) stepFunctions.registerStateMachine(machine.arn, machine.definition, machine.type);
  for (const alarm of deployment.alarms) alarms.deployAlarm(alarm);
  // A key kept in the data directory is reused: the planned key ID is the same at every start.
  for (const key of deployment.kmsKeys) kms.deployKey({ region, accountId }, key);
  for (const alias of deployment.kmsAliases) await kms.deployAlias({ region, accountId }, alias.aliasName, alias.targetKeyId);
  await deployTables(new DynamoDBClient({ endpoint, region, credentials }), deployment.tables);
}
