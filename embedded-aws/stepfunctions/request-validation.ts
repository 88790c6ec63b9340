import { AwsServiceError, type JsonObject } from '../protocol.ts';

/**
 * How Step Functions refuses a malformed request, before it looks anything up.
 *
 * Constraint violations (the service model's @range, @length, @enum) answer ValidationException in
 * the AWS framework's wording, "1 validation error detected: Value '<v>' at '<field>' failed to
 * satisfy constraint: <rule>", the wording AWS's JSON services share (seen captured from EC2,
 * IAM, KMS and DynamoDB alike).
 */
export type ResourceType = 'stateMachine' | 'execution';

// ExecutionStatus in the SFN service model, in the order AWS lists it in its enum violation
// message (localstack's provider, modelled on AWS's recorded answers, and a user's paste of the
// message both give this order).
const EXECUTION_STATUSES = ['SUCCEEDED', 'TIMED_OUT', 'PENDING_REDRIVE', 'ABORTED', 'FAILED', 'RUNNING'];
// PageSize in the SFN service model: @range(min: 0, max: 1000); 0 and absence mean the default, 100.
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

export function validationError(field: string, value: unknown, constraint: string): AwsServiceError {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
  return new AwsServiceError('ValidationException', `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`);
}

/** A required string member, present. */
export function requiredString(request: JsonObject, field: string): string {
  const value = request[field];
  if (typeof value !== 'string') throw validationError(field, undefined, 'Member must not be null');
  return value;
}

/**
 * A Step Functions ARN of the given resource type. AWS's answers, as observed: a string that is no
 * ARN at all gets "Invalid Arn: 'Invalid ARN prefix: <value>'" (ListExecutions and DescribeExecution
 * called with a bare name), an ARN of another resource type "Invalid Arn: 'Resource type not valid
 * in this context: <type>'" (StartExecution called with an execution ARN).
 */
export function statesArn(request: JsonObject, field: string, resourceType: ResourceType): string {
  const arn = requiredString(request, field);
  const parts = arn.split(':');
  if (parts[0] !== 'arn' || parts.length < 6) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Invalid ARN prefix: ${arn}'`);
  if (parts[5] !== resourceType) throw new AwsServiceError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${parts[5]}'`);
  return arn;
}

/** The page size a list operation asked for, within PageSize's range. */
export function pageSize(request: JsonObject): number {
  const value = request.maxResults;
  if (value === undefined || value === null) return DEFAULT_PAGE_SIZE;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw validationError('maxResults', value, 'Member must be an integer');
  if (value < 0) throw validationError('maxResults', value, 'Member must have value greater than or equal to 0');
  if (value > MAX_PAGE_SIZE) throw validationError('maxResults', value, `Member must have value less than or equal to ${MAX_PAGE_SIZE}`);
  return value === 0 ? DEFAULT_PAGE_SIZE : value;
}

/** Where a page starts: the offset an earlier page's nextToken carries. */
export function pageStart(request: JsonObject): number {
  const token = request.nextToken;
  if (token === undefined || token === null) return 0;
  const start = typeof token === 'string' && /^\d+$/.test(token) ? Number(token) : NaN;
  // AWS answers a token it did not issue, or one expired, with InvalidToken (the service model's
  // PageToken documentation: "an HTTP 400 InvalidToken error").
  if (Number.isNaN(start)) throw new AwsServiceError('InvalidToken', `Invalid Token: '${String(token)}'`);
  return start;
}

/** ListExecutions' statusFilter, one of ExecutionStatus. */
export function statusFilter(request: JsonObject): string | undefined {
  const value = request.statusFilter;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !EXECUTION_STATUSES.includes(value)) {
    throw validationError('statusFilter', value, `Member must satisfy enum value set: [${EXECUTION_STATUSES.join(', ')}]`);
  }
  // The API reference (ListExecutions, statusFilter): "If you provide a stateMachineArn and a
  // PENDING_REDRIVE statusFilter, the API returns a validation exception." Its wording is
  // undocumented; this one is ours.
  if (value === 'PENDING_REDRIVE' && request.stateMachineArn !== undefined) {
    throw new AwsServiceError('ValidationException', 'PENDING_REDRIVE statusFilter can only be used with a mapRunArn');
  }
  return value;
}

/** One page of a list, and the token of the next. */
export function page<T>(items: T[], request: JsonObject): { items: T[]; nextToken?: string } {
  const start = pageStart(request);
  const size = pageSize(request);
  return { items: items.slice(start, start + size), ...(start + size < items.length ? { nextToken: String(start + size) } : {}) };
}
