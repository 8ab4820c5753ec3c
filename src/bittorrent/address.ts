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
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) return a.slice(7);
  return a;
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
