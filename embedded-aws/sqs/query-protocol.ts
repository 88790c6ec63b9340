/**
 * The query protocol as SQS spoke it before AWS JSON 1.0 (and older AWS CLIs and SDKs still do):
 * flattened form parameters in (`AttributeName.1`, `MessageAttribute.1.Value.StringValue`,
 * `Attribute.1.Name`), XML out in the 2012-11-05 namespace. Requests are read into the JSON shapes
 * the operations take, and their JSON output written back as XML.
 */
import type { AwsServiceError, JsonObject } from '../protocol.ts';
import { element, escapeXml } from '../query-xml.ts';
import { queryCodeOf } from './wire-format.ts';

export const SQS_XML_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

const INTEGER_PARAMETERS = ['DelaySeconds', 'MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'MaxResults'];
const LIST_PARAMETERS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
};
/** The batch actions' entries (`SendMessageBatchRequestEntry.1.MessageBody`), read as JSON `Entries`. */
const BATCH_ENTRIES = ['SendMessageBatchRequestEntry', 'DeleteMessageBatchRequestEntry', 'ChangeMessageVisibilityBatchRequestEntry'];
/** The batch actions' result elements, one per Successful entry. */
const BATCH_RESULT_ENTRIES: Record<string, string> = {
  SendMessageBatch: 'SendMessageBatchResultEntry',
  DeleteMessageBatch: 'DeleteMessageBatchResultEntry',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibilityBatchResultEntry',
};

/** The form parameters of one action as the JSON input of the same operation. */
export function queryInput(params: Record<string, string>): JsonObject {
  const input: JsonObject = {};
  const lists: Record<string, Map<number, string>> = {};
  const maps: Record<string, Map<number, Record<string, string>>> = {};
  for (const [name, value] of Object.entries(params)) {
    if (name === 'Action' || name === 'Version') continue;
    const [head = '', index, ...rest] = name.split('.');
    const position = Number(index);
    if (index !== undefined && Number.isInteger(position)) {
      const listName = LIST_PARAMETERS[head];
      if (listName && rest.length === 0) {
        (lists[listName] ??= new Map()).set(position, value);
        continue;
      }
      const entry = (maps[head] ??= new Map()).get(position) ?? {};
      entry[rest.join('.')] = value;
      maps[head]?.set(position, entry);
      continue;
    }
    input[name] = INTEGER_PARAMETERS.includes(name) ? Number(value) : value;
  }
  for (const [listName, values] of Object.entries(lists)) input[listName] = ordered(values);
  for (const [head, entries] of Object.entries(maps)) {
    const members = ordered(entries);
    // An entry's own parameters are flattened the same way (`...Entry.1.MessageAttribute.1.Name`).
    if (BATCH_ENTRIES.includes(head)) input.Entries = members.map((member) => queryInput(member));
    if (head === 'Attribute') input.Attributes = Object.fromEntries(members.map((member) => [member.Name ?? '', member.Value ?? '']));
    if (head === 'Tag') input.tags = Object.fromEntries(members.map((member) => [member.Key ?? '', member.Value ?? '']));
    if (head === 'MessageAttribute') {
      input.MessageAttributes = Object.fromEntries(
        members.map((member) => [
          member.Name ?? '',
          {
            DataType: member['Value.DataType'],
            ...(member['Value.StringValue'] !== undefined ? { StringValue: member['Value.StringValue'] } : {}),
            ...(member['Value.BinaryValue'] !== undefined ? { BinaryValue: member['Value.BinaryValue'] } : {}),
          },
        ]),
      );
    }
  }
  return input;
}

function ordered<T>(entries: Map<number, T>): T[] {
  return [...entries.entries()].sort(([a], [b]) => a - b).map(([, value]) => value);
}

/** `<XResponse><XResult>…</XResult><ResponseMetadata>…`; actions without output have no Result element. */
export function queryResponse(action: string, output: JsonObject, requestId: string): string {
  const result = resultElements(output, BATCH_RESULT_ENTRIES[action]);
  const resultElement = result === '' && !RESULT_ACTIONS.includes(action) ? '' : `<${action}Result>${result}</${action}Result>`;
  return (
    `<${action}Response xmlns="${SQS_XML_NAMESPACE}">${resultElement}` +
    `<ResponseMetadata>${element('RequestId', requestId)}</ResponseMetadata></${action}Response>`
  );
}

const RESULT_ACTIONS = ['CreateQueue', 'GetQueueUrl', 'ListQueues', 'GetQueueAttributes', 'SendMessage', 'ReceiveMessage', ...Object.keys(BATCH_RESULT_ENTRIES)];

/**
 * SQS's XML flattens lists and maps: one `<QueueUrl>` per URL, one `<Attribute><Name/><Value/></Attribute>`
 * per entry, one `<SendMessageBatchResultEntry>` per successful batch entry and one
 * `<BatchResultErrorEntry>` per failed one.
 */
function resultElements(output: JsonObject, batchResultEntry?: string): string {
  let xml = '';
  for (const [name, value] of Object.entries(output)) {
    if (name === 'QueueUrls') xml += (value as string[]).map((url) => element('QueueUrl', url)).join('');
    else if (name === 'Successful' && batchResultEntry) xml += (value as JsonObject[]).map((entry) => `<${batchResultEntry}>${resultElements(entry)}</${batchResultEntry}>`).join('');
    else if (name === 'Failed') xml += (value as JsonObject[]).map((entry) => `<BatchResultErrorEntry>${resultElements(entry)}</BatchResultErrorEntry>`).join('');
    else if (name === 'Messages') xml += (value as JsonObject[]).map((message) => `<Message>${messageElements(message)}</Message>`).join('');
    else if (name === 'Attributes') xml += nameValueEntries('Attribute', value as Record<string, string>);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') xml += element(name, String(value));
  }
  return xml;
}

function messageElements(message: JsonObject): string {
  let xml = '';
  for (const [name, value] of Object.entries(message)) {
    if (name === 'Attributes') xml += nameValueEntries('Attribute', value as Record<string, string>);
    else if (name === 'MessageAttributes') {
      for (const [attribute, typed] of Object.entries(value as Record<string, Record<string, string>>)) {
        const valueXml = `${element('StringValue', typed.StringValue)}${element('BinaryValue', typed.BinaryValue)}${element('DataType', typed.DataType)}`;
        xml += `<MessageAttribute>${element('Name', attribute)}<Value>${valueXml}</Value></MessageAttribute>`;
      }
    } else xml += element(name, String(value));
  }
  return xml;
}

function nameValueEntries(tag: string, entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([name, value]) => `<${tag}>${element('Name', name)}${element('Value', value)}</${tag}>`)
    .join('');
}

/** SQS blames the caller (`Sender`) for 4xx errors and itself (`Receiver`) for 5xx. */
export function queryErrorBody(error: AwsServiceError, requestId: string): string {
  const type = error.statusCode >= 500 ? 'Receiver' : 'Sender';
  return (
    `<ErrorResponse xmlns="${SQS_XML_NAMESPACE}"><Error><Type>${type}</Type>` +
    `<Code>${escapeXml(queryCodeOf(error))}</Code>${element('Message', error.message)}<Detail/></Error>` +
    `${element('RequestId', requestId)}</ErrorResponse>`
  );
}
