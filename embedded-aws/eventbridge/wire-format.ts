/**
 * Reading requests and writing responses in EventBridge's JSON 1.1 shapes (`AWSEvents.<Operation>`):
 * timestamps travel as epoch seconds, list pages as opaque NextToken strings, and input errors are
 * worded after the service model's constraints, as the AWS SDKs and CLI show them.
 */
import { AwsServiceError, epochSeconds, type JsonObject } from '../protocol.ts';
import type { EventBus, Rule } from './event-bus-store.ts';

const PAGE_SIZE = 100;

/**
 * A ValidationException. A message about one member (`Value ... at 'member' failed to satisfy
 * constraint: ...`) is prefixed as AWS's request validation prefixes it.
 */
export function validationError(message: string): AwsServiceError {
  return new AwsServiceError('ValidationException', message.startsWith('Value') ? `1 validation error detected: ${message}` : message);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function optionalString(input: JsonObject, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(input: JsonObject, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    const member = field.charAt(0).toLowerCase() + field.slice(1);
    throw validationError(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

export function paginate<T>(items: T[], input: JsonObject): { items: T[]; nextToken?: string } {
  const limit = typeof input.Limit === 'number' && input.Limit > 0 ? Math.min(input.Limit, PAGE_SIZE) : PAGE_SIZE;
  const token = optionalString(input, 'NextToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw validationError('The NextToken is not valid.');
  const end = start + limit;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}) };
}

export function describeBus(bus: EventBus): JsonObject {
  return {
    Name: bus.name,
    Arn: bus.arn,
    ...(bus.description ? { Description: bus.description } : {}),
    CreationTime: epochSeconds(bus.createdAt),
    LastModifiedTime: epochSeconds(bus.lastModifiedAt),
  };
}

export function describeRule(rule: Rule): JsonObject {
  return {
    Name: rule.name,
    Arn: rule.arn,
    ...(rule.eventPattern !== undefined ? { EventPattern: rule.eventPattern } : {}),
    ...(rule.schedule ? { ScheduleExpression: rule.schedule.expression } : {}),
    State: rule.state,
    ...(rule.description ? { Description: rule.description } : {}),
    ...(rule.roleArn ? { RoleArn: rule.roleArn } : {}),
    EventBusName: rule.eventBusName,
  };
}

/** JSON 1.1 carries timestamps as epoch seconds; accept ISO text too. */
export function parseEntryTime(value: unknown): Date | undefined {
  if (typeof value === 'number') return new Date(value * 1000);
  if (typeof value === 'string') {
    const time = new Date(value);
    return Number.isNaN(time.getTime()) ? undefined : time;
  }
  return undefined;
}

/**
 * A PutEvents entry as AWS's request validation prints it inside a ValidationException: the Java
 * `toString()` of PutEventsRequestEntry, absent members as `null` (the format LocalStack recorded
 * from AWS, localstack/localstack PR 11047). A Time is printed as java.util.Date prints, in UTC.
 */
export function putEventsEntryText(entry: unknown): string {
  const fields = isObject(entry) ? entry : {};
  const text = (value: unknown): string => (value === undefined || value === null ? 'null' : String(value));
  const resources = Array.isArray(fields.Resources) ? `[${fields.Resources.map(text).join(', ')}]` : 'null';
  const time = parseEntryTime(fields.Time);
  return (
    `PutEventsRequestEntry(time=${time ? javaDate(time) : 'null'}, source=${text(fields.Source)}, resources=${resources}, ` +
    `detailType=${text(fields.DetailType)}, detail=${text(fields.Detail)}, eventBusName=${text(fields.EventBusName)}, ` +
    `traceHeader=${text(fields.TraceHeader)}, kmsKeyIdentifier=null, internalMetadata=null)`
  );
}

function javaDate(time: Date): string {
  const [weekday, day, month, year, clock] = time.toUTCString().replace(',', '').split(' ') as [string, string, string, string, string];
  return `${weekday} ${month} ${day} ${clock} UTC ${year}`;
}
