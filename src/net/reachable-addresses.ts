/**
 * What others can reach when a program binds a wildcard address (`--host 0.0.0.0` or `::`): the
 * machine's non-loopback addresses. Printed to the user, and used in the torrent's announce URL
 * and web seed when no address is given, so that nobody is handed `http://0.0.0.0:...`.
 */
import os from 'node:os';

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

type Interfaces = ReturnType<typeof os.networkInterfaces>;

/**
 * The addresses others can use for a server bound to `host`: `host` itself unless it is a
 * wildcard; then every non-internal address (IPv4 for 0.0.0.0; both families for ::, link-local
 * IPv6 left out: it needs a zone), or 127.0.0.1 when the machine has none.
 */
export function reachableAddresses(host: string, interfaces: Interfaces = os.networkInterfaces()): string[] {
  if (!isWildcard(host)) return [host];
  const v6 = host !== '0.0.0.0';
  const out: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' || (v6 && a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80:'))) out.push(a.address);
    }
  }
  // IPv4 first: what most people type and most NATs forward.
  out.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
  return out.length > 0 ? out : ['127.0.0.1'];
}

/** The one address to write into a torrent or a URL for a server bound to `host`. */
export function publicAddress(host: string, interfaces?: Interfaces): string {
  return reachableAddresses(host, interfaces)[0]!;
}
