/**
 * IP addresses and CIDR blocks as the `cidr` operator of an event pattern reads them (IPv4 and IPv6).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpRange {
  family: 4 | 6;
  network: bigint;
  mask: bigint;
}

/**
 * Returns the reason Event Ruler (CIDR.java) gives for a malformed block, or the range. The reasons
 * are Event Ruler's own: EventBridge puts them after "Event pattern is not valid. Reason: ".
 */
export function parseCidr(cidr: string): IpRange | { invalid: string } {
  const parts = cidr.split('/');
  if (parts.length !== 2) return { invalid: "Malformed CIDR, one '/' required" };
  const [addressText, lengthText] = parts as [string, string];
  if (!/^\d+$/.test(lengthText)) return { invalid: 'Malformed CIDR, mask bits must be an integer' };
  const address = parseIp(addressText);
  const bits = address?.family === 6 ? 128 : 32;
  const prefixLength = Number(lengthText);
  if (!address || prefixLength > bits) return { invalid: `Nonstandard IP address: ${addressText}` };
  const all = (1n << BigInt(bits)) - 1n;
  const mask = (all << BigInt(bits - prefixLength)) & all;
  return { family: address.family, network: address.value & mask, mask };
}

export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigInt(text) };
  if (!isIPv6(text)) return undefined;
  let head = text;
  let tail: string[] = [];
  // An IPv6 address may end in dotted IPv4 notation (::ffff:10.0.0.1): turn it into two groups.
  const lastColon = head.lastIndexOf(':');
  const dotted = head.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const value = ipv4ToBigInt(dotted);
    head = `${head.slice(0, lastColon + 1)}${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
  }
  const halves = head.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  if (halves.length === 2) tail = halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...left, ...Array<string>(8 - left.length - tail.length).fill('0'), ...tail] : left;
  const value = groups.reduce((total, group) => (total << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
  return { family: 6, value };
}

export function inRange(text: string, range: IpRange): boolean {
  const address = parseIp(text);
  return address !== undefined && address.family === range.family && (address.value & range.mask) === range.network;
}

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((total, octet) => (total << 8n) | BigInt(Number(octet)), 0n);
}
