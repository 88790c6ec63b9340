/**
 * What SQS's two protocols share: its errors (a JSON shape name, and the query-protocol code the
 * JSON protocol repeats in `x-amzn-query-error` for awsQueryCompatible clients), the MD5 digests
 * SDKs check, queue URLs, and the validation of the JSON-shaped input both protocols are read into.
 */
import { createHash } from 'node:crypto';
import { AwsServiceError, type JsonObject } from '../protocol.ts';
import type { MessageAttributeValue } from './sqs-model.ts';

/**
 * An SQS error: `code` is the JSON protocol's shape name (QueueDoesNotExist), `queryCode` the
 * query protocol's code (AWS.SimpleQueueService.NonExistentQueue), from the awsQueryError traits
 * of the SQS model (aws-sdk-js-v3 clients/client-sqs, schemas_0.ts).
 */
export class SqsError extends AwsServiceError {
  readonly queryCode: string;

  constructor(code: string, queryCode: string, message: string, statusCode = 400) {
    super(code, message, statusCode);
    this.queryCode = queryCode;
  }
}

export const queueDoesNotExist = () => new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');

export function invalidParameterValue(message: string): SqsError {
  return new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
}

/** `Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.` */
export function invalidValue(parameter: string, value: unknown, reason: string): SqsError {
  return invalidParameterValue(`Value ${String(value)} for parameter ${parameter} is invalid. Reason: ${reason}`);
}

export function missingParameter(parameter: string): SqsError {
  return new SqsError('MissingParameter', 'MissingParameter', `The request must contain the parameter ${parameter}.`);
}

/** The query code of any error an SQS operation throws: fault-injected errors keep their own code. */
export function queryCodeOf(error: AwsServiceError): string {
  return error instanceof SqsError ? error.queryCode : error.code;
}

export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * MD5OfMessageAttributes as the SQS Developer Guide ("Calculating the MD5 message digest for message
 * attributes") defines it: for each attribute in name order, the name, the data type, a transport
 * byte (1 for String and Number, 2 for Binary) and the value, each length-prefixed (4 bytes, big-endian).
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const value = attributes[name] as MessageAttributeValue;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(value.DataType, 'utf8'));
    const binary = value.DataType.startsWith('Binary');
    parts.push(Buffer.from([binary ? 2 : 1]));
    prefixed(binary ? (value.BinaryValue ?? Buffer.alloc(0)) : Buffer.from(value.StringValue ?? '', 'utf8'));
  }
  return md5Hex(Buffer.concat(parts));
}

/**
 * A queue URL: `https://sqs.<region>.amazonaws.com/<account>/<name>` as AWS gives it, the legacy
 * `https://<region>.queue.amazonaws.com/...`, or any other host (the embedded endpoint's) with the
 * same path. The Region comes from an AWS host; another host leaves it to the request.
 */
export function parseQueueUrl(url: string): { accountId: string; name: string; region?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidAddress(url);
  }
  const match = /^\/(\d{12})\/([\w-]{1,80}(?:\.fifo)?)\/?$/.exec(parsed.pathname);
  if (!match) throw invalidAddress(url);
  const region = /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(parsed.hostname)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com$/.exec(parsed.hostname)?.[1];
  return { accountId: match[1] as string, name: match[2] as string, ...(region ? { region } : {}) };
}

function invalidAddress(url: string): SqsError {
  return new SqsError('InvalidAddress', 'InvalidAddress', `The address ${url} is not valid for this endpoint.`, 404);
}

export function requiredString(input: JsonObject, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw missingParameter(field);
  return value;
}

export function optionalString(input: JsonObject, field: string): string | undefined {
  const value = input[field];
  return typeof value === 'string' ? value : undefined;
}

/** An integer parameter within [min, max], or undefined; AWS's message names the range. */
export function optionalInteger(input: JsonObject, field: string, min: number, max: number, reason?: string): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw invalidValue(field, value, reason ?? `Must be between ${min} and ${max}, if provided.`);
  }
  return number;
}

export function stringList(input: JsonObject, field: string): string[] {
  const value = input[field];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalidParameterValue(`${field} must be a list of strings.`);
  return value;
}

export function stringMap(input: JsonObject, field: string): Record<string, string> {
  const value = input[field];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParameterValue(`${field} must be a map of strings.`);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)]));
}

/** MessageAttributes of SendMessage: at most 10, each with a DataType and the matching value. */
export function messageAttributes(input: JsonObject): Record<string, MessageAttributeValue> {
  const declared = input.MessageAttributes;
  if (declared === undefined) return {};
  if (typeof declared !== 'object' || declared === null || Array.isArray(declared)) throw invalidParameterValue('MessageAttributes must be a map.');
  const entries = Object.entries(declared as Record<string, JsonObject>);
  if (entries.length > 10) throw invalidParameterValue(`Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of entries) {
    const dataType = value?.DataType;
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw invalidParameterValue(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    if (dataType.startsWith('Binary')) {
      if (typeof value.BinaryValue !== 'string') throw invalidParameterValue(`The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`);
      attributes[name] = { DataType: dataType, BinaryValue: Buffer.from(value.BinaryValue, 'base64') };
    } else {
      if (typeof value.StringValue !== 'string' || value.StringValue === '') {
        throw invalidParameterValue(`The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`);
      }
      if (dataType.startsWith('Number') && !Number.isFinite(Number(value.StringValue))) {
        throw invalidParameterValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
      }
      attributes[name] = { DataType: dataType, StringValue: value.StringValue };
    }
  }
  return attributes;
}

/** A message attribute as the JSON protocol carries it (binary values in base64). */
export function renderAttribute(value: MessageAttributeValue): JsonObject {
  return value.BinaryValue !== undefined
    ? { DataType: value.DataType, BinaryValue: value.BinaryValue.toString('base64') }
    : { DataType: value.DataType, StringValue: value.StringValue };
}
