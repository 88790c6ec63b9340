/**
 * Checks a request against what SNS accepts, answering with SNS's own error codes and messages:
 * `InvalidParameter` ("Invalid parameter: <what>"), `ParameterValueInvalid` for message attributes,
 * `NotFound` ("<Resource> does not exist", 404). Each message is one AWS has been seen to return;
 * test/embedded-aws/sns/sns-fidelity.integration.test.ts cites where.
 */
import { AwsServiceError } from '../protocol.ts';
import type { MessageAttributeValue, SubscriptionProtocol } from './sns-model.ts';
import { MAX_MESSAGE_ATTRIBUTES, MAX_SUBJECT_CHARACTERS, MAX_TOPIC_NAME_CHARACTERS, MAXIMUM_MESSAGE_SIZE_RANGE } from './sns-limits.ts';
import { groupParameters } from './query-protocol.ts';

const TOPIC_ARN = /^arn:aws[\w-]*:sns:([^:]+):(\d{12}):([A-Za-z0-9_.-]+)$/;
const AWS_PROTOCOLS_NOT_EMBEDDED = new Set(['email', 'email-json', 'sqs', 'lambda', 'sms', 'application', 'firehose']);

export function invalidParameter(what: string): AwsServiceError {
  return new AwsServiceError('InvalidParameter', `Invalid parameter: ${what}`);
}

export function notFound(resource: 'Topic' | 'Subscription'): AwsServiceError {
  return new AwsServiceError('NotFound', `${resource} does not exist`, 404);
}

/** SNS's InvalidParameterValueException travels as the query error code `ParameterValueInvalid` (the SDK's service model). */
export function parameterValueInvalid(message: string): AwsServiceError {
  return new AwsServiceError('ParameterValueInvalid', message);
}

export function required(params: Record<string, string>, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw invalidParameter(`${name} Reason: no value for required parameter`);
  return value;
}

/**
 * SNS parses an ARN before it looks anything up: fewer than six colon-separated elements is
 * "Reason: An ARN must have at least 6 elements, not N", counted as `arn.split(':')`.
 */
function requireArnElements(arn: string, parameter: string): number {
  const elements = arn.split(':').length;
  if (elements < 6) throw invalidParameter(`${parameter} Reason: An ARN must have at least 6 elements, not ${elements}`);
  return elements;
}

/** A topic ARN of this Region; one of another Region is refused as "Invalid parameter: TopicArn", not looked up. */
export function validateTopicArn(arn: string, region: string, parameter = 'TopicArn'): void {
  requireArnElements(arn, parameter);
  const match = TOPIC_ARN.exec(arn);
  if (!match || match[1] !== region) throw invalidParameter(parameter);
}

/** Returns the number of elements, which Unsubscribe needs: six is a topic's ARN, not a subscription's. */
export function validateSubscriptionArn(arn: string): number {
  return requireArnElements(arn, 'SubscriptionArn');
}

export function validateTopicName(name: string, fifo: boolean): void {
  const nameOk = fifo
    ? new RegExp(`^[A-Za-z0-9_-]{1,${MAX_TOPIC_NAME_CHARACTERS - '.fifo'.length}}\\.fifo$`).test(name)
    : new RegExp(`^[A-Za-z0-9_-]{1,${MAX_TOPIC_NAME_CHARACTERS}}$`).test(name);
  if (!nameOk) throw invalidParameter('Topic Name');
}

export function parseProtocol(name: string): SubscriptionProtocol {
  if (name === 'http' || name === 'https' || name === 'file' || name === 'console') return name;
  if (AWS_PROTOCOLS_NOT_EMBEDDED.has(name)) {
    throw invalidParameter(`Protocol Reason: the embedded SNS does not deliver to ${name}; use http, https, file or console`);
  }
  throw invalidParameter(`Amazon SNS does not support this protocol string: ${name}`);
}

export function validateEndpoint(protocol: SubscriptionProtocol, endpoint: string | undefined): string {
  switch (protocol) {
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(endpoint ?? '');
      } catch {
        throw invalidParameter('Endpoint');
      }
      if (url.protocol !== `${protocol}:`) throw invalidParameter('Endpoint');
      return url.toString();
    }
    case 'file':
      if (!endpoint) throw invalidParameter('Endpoint Reason: a file subscription needs a path');
      return endpoint;
    case 'console':
      return endpoint || 'console';
  }
}

/** What a Publish (or a PublishBatch entry) asks to send, once it has passed SNS's checks. */
export interface Publication {
  message: string;
  subject?: string;
  messageStructure?: 'json';
  messageAttributes: Record<string, MessageAttributeValue>;
}

/**
 * The checks Publish makes before it looks at the topic, in SNS's order (LocalStack's AWS-validated
 * publish): subject, empty message, attributes, structure. The size depends on the topic's
 * MaximumMessageSize and is checked against it by publishing.ts.
 */
export function validatePublication(params: Record<string, string>): Publication {
  const subject = params.Subject;
  if (subject !== undefined && (subject === '' || subject.length > MAX_SUBJECT_CHARACTERS || !/^[\x20-\x7e]*$/.test(subject))) {
    throw invalidParameter('Subject');
  }
  const message = params.Message;
  if (message === undefined || message === '') throw invalidParameter('Empty message');
  const messageAttributes = parseMessageAttributes(params);
  let messageStructure: 'json' | undefined;
  if (params.MessageStructure !== undefined) {
    if (params.MessageStructure !== 'json') throw invalidParameter('MessageStructure');
    messageStructure = 'json';
    let structured: unknown;
    try {
      structured = JSON.parse(message);
    } catch {
      throw invalidParameter('Message Structure - JSON message body failed to parse');
    }
    if (typeof structured !== 'object' || structured === null || Array.isArray(structured) || typeof (structured as Record<string, unknown>).default !== 'string') {
      throw invalidParameter('Message Structure - No default entry in JSON message body');
    }
  }
  return {
    message,
    ...(subject !== undefined ? { subject } : {}),
    ...(messageStructure ? { messageStructure } : {}),
    messageAttributes,
  };
}

/** A topic's MaximumMessageSize: a whole number of bytes from 1,024 to 1,048,576. */
export function validateMaximumMessageSize(value: string): void {
  const bytes = Number(value);
  if (!/^\d+$/.test(value) || bytes < MAXIMUM_MESSAGE_SIZE_RANGE.min || bytes > MAXIMUM_MESSAGE_SIZE_RANGE.max) {
    throw invalidParameter(`Attributes Reason: MaximumMessageSize: Invalid value [${value}]`);
  }
}

/** The size SNS holds against its limit: the body plus every attribute's name, type and value. */
export function publishedBytes(message: string, attributes: Record<string, MessageAttributeValue>): number {
  let bytes = Buffer.byteLength(message);
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    if (value.StringValue !== undefined) bytes += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue !== undefined) bytes += Buffer.from(value.BinaryValue, 'base64').length;
  }
  return bytes;
}

function parseMessageAttributes(params: Record<string, string>): Record<string, MessageAttributeValue> {
  const entries = groupParameters(params, 'MessageAttributes', 'entry');
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw parameterValueInvalid(`Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`);
  }
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const entry of entries) {
    const name = entry.Name ?? '';
    const dataType = entry['Value.DataType'];
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || /^(AWS\.|Amazon\.)/i.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      throw parameterValueInvalid(`The message attribute name '${name}' is invalid.`);
    }
    if (!dataType) throw parameterValueInvalid(`The message attribute '${name}' must contain non-empty message attribute type.`);
    const base = dataType === 'String.Array' ? 'String.Array' : dataType.split('.')[0];
    if (base === 'Binary') {
      if (!entry['Value.BinaryValue']) {
        throw parameterValueInvalid(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
      }
      attributes[name] = { DataType: dataType, BinaryValue: entry['Value.BinaryValue'] };
      continue;
    }
    if (base !== 'String' && base !== 'Number' && base !== 'String.Array') {
      throw parameterValueInvalid(`The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    const value = entry['Value.StringValue'];
    if (value === undefined || value === '') {
      throw parameterValueInvalid(`The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
    }
    if (base === 'Number' && !Number.isFinite(Number(value))) {
      throw parameterValueInvalid(`The message attribute '${name}' with type 'Number' must have a numeric value.`);
    }
    if (base === 'String.Array' && !isJsonArray(value)) {
      throw parameterValueInvalid(`The message attribute '${name}' with type 'String.Array' must be a JSON array.`);
    }
    attributes[name] = { DataType: dataType, StringValue: value };
  }
  return attributes;
}

function isJsonArray(text: string): boolean {
  try {
    return Array.isArray(JSON.parse(text));
  } catch {
    return false;
  }
}
