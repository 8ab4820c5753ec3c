/**
 * Which address an announce comes from. The connection's address, always, unless the tracker
 * sits behind proxies the operator named (`--trust-proxy CIDR...`): then `X-Forwarded-For` is
 * read from the right, and the first hop that is not a trusted proxy is the client (the
 * left-most entries are whatever the client chose to write). Pure.
 */
import net from 'node:net';
import { ipv6Bytes, unmapped } from '../bittorrent/address.ts';

export interface Cidr {
  family: 4 | 6;
  bytes: Buffer;
  prefix: number;
}

function addressBytes(ip: string): { family: 4 | 6; bytes: Buffer } | null {
  const a = unmapped(ip.replace(/%.*$/, ''));
  if (net.isIPv4(a)) return { family: 4, bytes: Buffer.from(a.split('.').map(Number)) };
  if (!net.isIPv6(a)) return null;
  return { family: 6, bytes: ipv6Bytes(a) };
}

/** `10.0.0.0/8`, `::1/128`, or a bare address (a /32 or /128). Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [addr, bits] = text.split('/') as [string, string | undefined];
  const a = addressBytes(addr);
  if (!a) throw new Error(`not an IP address: ${addr}`);
  const max = a.family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) throw new Error(`bad prefix length in ${text}`);
  return { ...a, prefix };
}

export function inCidr(ip: string, c: Cidr): boolean {
  const a = addressBytes(ip);
  if (!a || a.family !== c.family) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a.bytes[i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * Whether the address in `b[at, at + 4)` (family 4) or `b[at, at + 16)` (family 6) lies in `c`:
 * the store's form of an address (compact bytes), matched without a string.
 */
export function cidrHolds(c: Cidr, family: 4 | 6, b: Uint8Array, at: number): boolean {
  if (family !== c.family) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[at + i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: readonly Cidr[]): string | undefined {
  if (!socketAddress || trusted.length === 0 || forwardedFor === undefined) return socketAddress;
  if (!trusted.some((c) => inCidr(socketAddress, c))) return socketAddress;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let client = socketAddress;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!addressBytes(hop)) break; // garbage: stop at the last hop we could vouch for
    client = hop;
    if (!trusted.some((c) => inCidr(hop, c))) break;
  }
  return client;
}
