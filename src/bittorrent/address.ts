/**
 * Peer addresses in one place: normalised (`::ffff:` IPv4, brackets, zones), the prefix one party
 * controls (bans and per-address limits: a peer chooses its peer_id and port freely, not its
 * address; IPv4 /32, IPv6 /64, the smallest block ISPs hand out), and the URL/label forms.
 * Pure functions.
 */
import net from 'node:net';

/** `::ffff:1.2.3.4` -> `1.2.3.4`; IPv6 lower-cased without its zone (`%eth0`); hostnames lower-cased. */
export function normalizeAddress(address: string | undefined): string {
  let a = (address ?? '').trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0 && a.includes(':')) a = a.slice(0, zone);
  return unmapped(a);
}

/** `::ffff:1.2.3.4` (either case) -> `1.2.3.4`; anything else unchanged. */
export function unmapped(a: string): string {
  return a.length > 7 && a.slice(0, 7).toLowerCase() === '::ffff:' && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

export interface IpAddress {
  /** The address as given, IPv4-mapped IPv6 as plain IPv4 (an IPv6 zone is kept). */
  ip: string;
  family: 4 | 6;
}

/** An IP address and its family (`::ffff:1.2.3.4` -> `1.2.3.4`), or null when `address` is not one. */
export function ipAddress(address: string | undefined): IpAddress | null {
  if (!address) return null;
  const ip = unmapped(address);
  const family = net.isIP(ip);
  return family === 0 ? null : { ip, family: family === 4 ? 4 : 6 };
}

/** The 8 groups of an IPv6 address (an embedded IPv4 tail counts as two), or undefined. */
function ipv6Groups(a: string): number[] | undefined {
  if (!net.isIPv6(a)) return undefined;
  let text = a;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (net.isIPv4(tail)) {
    const [b0, b1, b2, b3] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  if (rest === undefined) return left;
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The key bans and per-address limits use: the IPv4 address itself, the /64 of an IPv6 address
 * (`2001:db8:1:2::/64`), or the lower-cased host name (a web seed named by DNS).
 */
export function addressPrefix(address: string | undefined): string {
  const a = normalizeAddress(address);
  if (net.isIPv4(a)) return a;
  const groups = ipv6Groups(a);
  if (!groups) return a;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The URL form of a host: IPv6 literals go in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `1.2.3.4:6881` or `[::1]:6881`: an address and port for people, labels and Host headers. */
export function hostPort(host: string, port: number): string {
  return `${urlHost(host)}:${port}`;
}

/** Dotted-quad text of 4 address bytes. */
export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of 16 address bytes: lower-case, the longest run of zero groups as `::`. */
export function formatIPv6(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** 16 bytes of an address that `net.isIPv6` accepted (`::`, a trailing dotted IPv4 and a zone allowed). */
export function ipv6Bytes(ip: string): Buffer {
  const zone = ip.indexOf('%');
  const groups = ipv6Groups(zone < 0 ? ip : ip.slice(0, zone)) ?? [];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * One peer's compact form (BEP 23, BEP 7), written into `out` at `at`: the 4-byte IPv4 or 16-byte
 * IPv6 address, then the big-endian port. Returns the end.
 */
export function compactAddressInto(out: Buffer, at: number, ip: string, family: 4 | 6, port: number): number {
  if (family === 4) {
    // Dotted quad, already validated (net.isIP): digits and dots, read in place.
    let k = at;
    let v = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 0x2e) {
        out[k++] = v;
        v = 0;
      } else {
        v = v * 10 + c - 0x30;
      }
    }
    out[k] = v;
    out[at + 4] = port >>> 8;
    out[at + 5] = port & 0xff;
    return at + 6;
  }
  ipv6Bytes(ip).copy(out, at);
  out[at + 16] = port >>> 8;
  out[at + 17] = port & 0xff;
  return at + 18;
}
