/** The DHT's flags (seeder and requester alike): `--dht` / `--no-dht`, `--dht-bootstrap`. */
import path from 'node:path';
import net from 'node:net';
import { die } from './common.ts';
import type { DhtEndpoint, DhtSettings } from '../dht/peer-dht.ts';
import { STATE_FILE_NAME } from '../dht/node-store.ts';

/** The well-known routers of the Mainline DHT, as BitTorrent clients ship them. */
export const PUBLIC_BOOTSTRAP = ['router.bittorrent.com:6881', 'dht.transmissionbt.com:6881', 'router.utorrent.com:6881'];
const MAX_BOOTSTRAP = 16;

export const DHT_FLAGS = {
  dht: { type: 'boolean' },
  'no-dht': { type: 'boolean' },
  'dht-bootstrap': { type: 'string' },
} as const;

export const DHT_FLAGS_USAGE = `  --dht / --no-dht    join the Mainline DHT (BEP 5) on our UDP port, announce the torrent there and
                      look peers up in it (default on; it needs --host 0.0.0.0 or a public address
                      to reach the public DHT)
  --dht-bootstrap     HOST:PORT,... nodes to join through (default: the public routers
                      ${PUBLIC_BOOTSTRAP.join(',')});
                      the routing table is saved in <folder>/${STATE_FILE_NAME} and used first next time`;

/** Parse `HOST:PORT,...` (host names or IPv4 addresses); null if any entry is malformed. */
export function parseBootstrapList(s: string): DhtEndpoint[] | null {
  const entries = s.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0 || entries.length > MAX_BOOTSTRAP) return null;
  const out: DhtEndpoint[] = [];
  for (const e of entries) {
    const m = /^([A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(e);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535 || net.isIPv6(m[1]!)) return null;
    out.push({ host: m[1]!, port });
  }
  return out;
}

/**
 * The DHT settings the flags ask for, or undefined with `--no-dht`. `dir` is the peer's folder,
 * where the routing table is kept.
 */
export function parseDhtFlags(values: Record<string, string | boolean | undefined>, dir: string): DhtSettings | undefined {
  if (values['no-dht'] && values['dht']) die('--dht and --no-dht contradict each other', 2);
  if (values['no-dht']) return undefined;
  const list = values['dht-bootstrap'] === undefined ? PUBLIC_BOOTSTRAP.join(',') : String(values['dht-bootstrap']);
  const bootstrap = parseBootstrapList(list);
  if (bootstrap === null) die(`--dht-bootstrap must be HOST:PORT[,HOST:PORT...] (IPv4 or a name, at most ${MAX_BOOTSTRAP})`, 2);
  return { bootstrap, stateFile: path.join(dir, STATE_FILE_NAME), log: (line) => console.log(line) };
}
