/**
 * The AWS query protocol as SNS speaks it: flattened form parameters in (`Attributes.entry.1.key`,
 * `Tags.member.1.Key`), XML out, in the 2010-03-31 namespace the SDK's deserializer expects.
 */
import type { AwsServiceError } from '../protocol.ts';
import { element, escapeXml } from '../query-xml.ts';

export const SNS_XML_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** `<XResponse><XResult>…</XResult><ResponseMetadata>…` — actions without output have no Result element. */
export function queryResponse(action: string, requestId: string, result?: string): string {
  const resultElement = result === undefined ? '' : `<${action}Result>${result}</${action}Result>`;
  return (
    `<${action}Response xmlns="${SNS_XML_NAMESPACE}">${resultElement}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** SNS blames the caller (`Sender`) for 4xx errors and itself (`Receiver`) for 5xx. */
export function queryErrorBody(error: AwsServiceError, requestId: string): string {
  const type = error.statusCode >= 500 ? 'Receiver' : 'Sender';
  return (
    `<ErrorResponse xmlns="${SNS_XML_NAMESPACE}"><Error><Type>${type}</Type>` +
    `${element('Code', error.code)}${element('Message', error.message)}</Error>` +
    `${element('RequestId', requestId)}</ErrorResponse>`
  );
}

/** `<entry><key>k</key><value>v</value></entry>` for each pair, as SNS renders attribute maps. */
export function attributeEntries(attributes: Record<string, string>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `<entry>${element('key', key)}${element('value', value)}</entry>`)
    .join('');
}

/**
 * Groups `<prefix>.<kind>.<n>.<rest>` parameters by n, in order: for `Tags.member.1.Key=a` with
 * prefix `Tags` and kind `member`, yields `[{ Key: 'a' }]`. A scalar list (`Ids.member.1=x`) gives
 * `{ '': 'x' }` entries.
 */
export function groupParameters(params: Record<string, string>, prefix: string, kind: 'member' | 'entry'): Record<string, string>[] {
  const groups = new Map<number, Record<string, string>>();
  const head = `${prefix}.${kind}.`;
  for (const [name, value] of Object.entries(params)) {
    if (!name.startsWith(head)) continue;
    const remainder = name.slice(head.length);
    const dot = remainder.indexOf('.');
    const index = Number(dot < 0 ? remainder : remainder.slice(0, dot));
    if (!Number.isInteger(index)) continue;
    const group = groups.get(index) ?? {};
    group[dot < 0 ? '' : remainder.slice(dot + 1)] = value;
    groups.set(index, group);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** `Attributes.entry.N.key` / `.value` into a plain record. */
export function parseAttributeMap(params: Record<string, string>, prefix: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const entry of groupParameters(params, prefix, 'entry')) {
    if (entry.key !== undefined) attributes[entry.key] = entry.value ?? '';
  }
  return attributes;
}

/** `Tags.member.N.Key` / `.Value` into a plain record. */
export function parseTags(params: Record<string, string>, prefix = 'Tags'): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const member of groupParameters(params, prefix, 'member')) {
    if (member.Key !== undefined) tags[member.Key] = member.Value ?? '';
  }
  return tags;
}
