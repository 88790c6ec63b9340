import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Clock } from '../clock.ts';
import { AwsServiceError, epochSeconds, type JsonObject, type RequestContext } from '../protocol.ts';
import { allStates, type Definition } from './definition.ts';
import { page, requiredString, statesArn, validationError } from './request-validation.ts';

export type StateMachineType = 'STANDARD' | 'EXPRESS';

export interface RegisteredStateMachine {
  arn: string;
  name: string;
  type: StateMachineType;
  definition: Definition;
  /** The definition as CreateStateMachine or UpdateStateMachine was given it; DescribeStateMachine returns it unchanged. */
  definitionText: string;
  roleArn: string;
  creationDate: Date;
  revisionId?: string;
  updateDate?: Date;
}

type AslValidation = { isValid: boolean; errorsText: (separator?: string) => string };
const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown, options?: { checkPaths: boolean; checkArn: boolean }) => AslValidation;

// State machine names (CreateStateMachine): Name is 1 to 80 characters in the service model, and
// the API reference forbids whitespace, brackets, wildcards, these specials: " # % \ ^ | ~ ` $ & ,
// ; : /, and control characters. The same rule holds for execution names.
export const FORBIDDEN_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const MAX_NAME_LENGTH = 80;
const STATE_MACHINE_TYPES: StateMachineType[] = ['STANDARD', 'EXPRESS'];

/**
 * The state machines of one embedded Step Functions: those serverless.yml deploys, registered at
 * start, and those CreateStateMachine adds, so a changed definition can be tried locally without
 * touching serverless.yml. Definitions are checked with asl-validator, the validator the project's
 * own ASL tests use; its error codes (SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET, ...) are
 * AWS's, its wording of the details its own.
 */
export class StateMachines {
  private readonly machines = new Map<string, RegisteredStateMachine>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  register(arn: string, definition: Definition, type: StateMachineType): void {
    allStates(definition); // refuses duplicate state names, which the local runner cannot tell apart
    const [, , , , accountId = '', , name = arn] = arn.split(':');
    // No IAM here: the role is named, never assumed.
    const roleArn = `arn:aws:iam::${accountId}:role/${name}-role`;
    this.machines.set(arn, { arn, name, type, definition, definitionText: JSON.stringify(definition), roleArn, creationDate: this.clock.now() });
  }

  /** The state machine an ARN names, or StateMachineDoesNotExist as AWS words it. */
  get(request: JsonObject): RegisteredStateMachine {
    const arn = statesArn(request, 'stateMachineArn', 'stateMachine');
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  typeOf(arn: string): StateMachineType | undefined {
    return this.machines.get(arn)?.type;
  }

  create(request: JsonObject, context: RequestContext): JsonObject {
    const name = requiredString(request, 'name');
    const definitionText = requiredString(request, 'definition');
    const roleArn = requiredString(request, 'roleArn');
    if (name.length > MAX_NAME_LENGTH) throw validationError('name', name, `Member must have length less than or equal to ${MAX_NAME_LENGTH}`);
    if (name.length < 1 || FORBIDDEN_NAME.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    const type = (request.type ?? 'STANDARD') as StateMachineType;
    if (!STATE_MACHINE_TYPES.includes(type)) throw validationError('type', type, `Member must satisfy enum value set: [${STATE_MACHINE_TYPES.join(', ')}]`);
    if (!roleArn.startsWith('arn:')) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Invalid ARN prefix: ${roleArn}'`);
    const definition = parseDefinition(definitionText);
    const arn = `arn:aws:states:${context.region}:${context.accountId}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      // CreateStateMachine is idempotent on name, definition and type; a different roleArn is
      // ignored (API reference). Anything else under the same name is StateMachineAlreadyExists.
      if (existing.definitionText === definitionText && existing.type === type) return { stateMachineArn: arn, creationDate: epochSeconds(existing.creationDate) };
      throw new AwsServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const creationDate = this.clock.now();
    this.machines.set(arn, { arn, name, type, definition, definitionText, roleArn, creationDate });
    return { stateMachineArn: arn, creationDate: epochSeconds(creationDate) };
  }

  update(request: JsonObject): JsonObject {
    const machine = this.get(request);
    const { definition: definitionText, roleArn } = request;
    if (definitionText === undefined && roleArn === undefined && request.loggingConfiguration === undefined && request.tracingConfiguration === undefined) {
      throw new AwsServiceError('MissingRequiredParameter', 'Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified');
    }
    const definition = typeof definitionText === 'string' ? parseDefinition(definitionText) : undefined;
    const changed = (definition !== undefined && definitionText !== machine.definitionText) || (typeof roleArn === 'string' && roleArn !== machine.roleArn);
    if (definition !== undefined && typeof definitionText === 'string') {
      machine.definition = definition;
      machine.definitionText = definitionText;
    }
    if (typeof roleArn === 'string') machine.roleArn = roleArn;
    // An update that changes nothing keeps the revision (AWS's recorded answers: the same
    // revisionId twice). Executions already running keep the definition they started with.
    if (changed || machine.revisionId === undefined) machine.revisionId = randomUUID();
    machine.updateDate = this.clock.now();
    return { updateDate: epochSeconds(machine.updateDate), revisionId: machine.revisionId };
  }

  /**
   * Deleting a state machine that does not exist succeeds (AWS's recorded answer: HTTP 200).
   * Executions already running carry on to their end here; AWS stops them at their next state
   * transition.
   */
  delete(request: JsonObject): JsonObject {
    this.machines.delete(statesArn(request, 'stateMachineArn', 'stateMachine'));
    return {};
  }

  describe(request: JsonObject): JsonObject {
    const machine = this.get(request);
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      type: machine.type,
      definition: machine.definitionText,
      roleArn: machine.roleArn,
      creationDate: epochSeconds(machine.creationDate),
      // What a state machine created without them reports (AWS's recorded DescribeStateMachine).
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
      ...(machine.revisionId !== undefined ? { revisionId: machine.revisionId } : {}),
    };
  }

  list(request: JsonObject): JsonObject {
    const { items, nextToken } = page([...this.machines.values()], request);
    return {
      stateMachines: items.map((machine) => ({
        stateMachineArn: machine.arn,
        name: machine.name,
        type: machine.type,
        creationDate: epochSeconds(machine.creationDate),
      })),
      ...(nextToken !== undefined ? { nextToken } : {}),
    };
  }
}

/**
 * A definition as Step Functions accepts it, or InvalidDefinition in AWS's form: "Invalid State
 * Machine Definition: '<CODE>: <detail>'" (AWS's recorded answer to a definition without States:
 * 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /').
 */
function parseDefinition(text: string): Definition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ${(error as Error).message}'`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsServiceError('InvalidDefinition', "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Expected an object at /'");
  }
  // A copy: the validator annotates the definition it is given. ARNs are not checked: the local
  // ASL names functions the way serverless.yml resolves them.
  const validation = validateAsl(structuredClone(parsed), { checkPaths: true, checkArn: false });
  if (!validation.isValid) throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: '${validation.errorsText(', ')}'`);
  try {
    allStates(parsed as Definition);
  } catch (error) {
    throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: 'DUPLICATE_STATE_NAME: ${(error as Error).message}'`);
  }
  return parsed as Definition;
}
