/** `npm run tracker`: the BitTorrent HTTP tracker (BEP 3/23/48) on 127.0.0.1:5001. */
import { parseFlags, parsePortFlag, parsePositiveFlag, die } from './cli/common.ts';
import { MemorySwarmStore } from './tracker/store/memory-store.ts';
import { DEFAULT_STORE_LIMITS, type StoreLimits } from './tracker/store/swarm-store.ts';
import { createTrackerServer } from './tracker/http/server.ts';
import { trackerConfig } from './tracker/service.ts';
import { parseCidr, type Cidr } from './tracker/client-address.ts';
import { listen } from './net/server-timeouts.ts';
import { urlHost } from './bittorrent/address.ts';

const usage = `usage: npm run tracker -- [--host 127.0.0.1] [--port 5001] [--interval 1800]
                          [--trust-proxy CIDR ...] [--trust-ip-param] [limits below]
  --host            address to bind (default 127.0.0.1)
  --port            port to listen on (default 5001)
  --interval        seconds between client announces; silent peers are dropped after 2 x interval
  --trust-proxy     a proxy (address or CIDR, repeatable) whose X-Forwarded-For is believed;
                    the right-most hop that is not a trusted proxy is the client
  --trust-ip-param  use the announce's ip parameter (lets anyone register any address)
  --max-torrents    torrents tracked at once (default 1000000)
  --max-peers       peers tracked at once, all torrents together (default 2000000)
  --max-peers-per-torrent  peers per torrent (default 20000)
  --max-peers-per-address  peers of one address (IPv4 /32, IPv6 /64) listed in one torrent
                    (default 8); more from it still get peers, with a warning, but are not listed
  --new-torrents-per-minute  torrents one address may create per minute (default 120) ...
  --new-torrents-burst       ... and at once (default 1000)
  --exempt          an address or CIDR (repeatable) the per-address limits do not apply to
                    (default 127.0.0.0/8 and ::1, this machine; "none": every address limited)`;

const { values } = parseFlags(
  {
    host: { type: 'string' },
    port: { type: 'string' },
    interval: { type: 'string' },
    'trust-proxy': { type: 'string', multiple: true },
    'trust-ip-param': { type: 'boolean' },
    'max-torrents': { type: 'string' },
    'max-peers-per-torrent': { type: 'string' },
    'max-peers': { type: 'string' },
    'max-peers-per-address': { type: 'string' },
    'new-torrents-per-minute': { type: 'string' },
    'new-torrents-burst': { type: 'string' },
    exempt: { type: 'string', multiple: true },
  },
  usage,
);
const host = (values['host'] as string | undefined) ?? '127.0.0.1';
const port = parsePortFlag(values['port'], 'port', 5001);
const interval = Math.round(parsePositiveFlag(values['interval'], 'interval', 1800));

/** A repeatable, comma-separable list of addresses and CIDRs; `none` alone is the empty list. */
function cidrList(name: string, fallback: readonly Cidr[]): readonly Cidr[] {
  const given = values[name] as unknown as string[] | undefined;
  if (given === undefined) return fallback;
  const items = given.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (items.length === 1 && items[0] === 'none') return [];
  try {
    return items.map((v) => parseCidr(v));
  } catch (e) {
    die(`--${name}: ${(e as Error).message}`, 2);
  }
}
const trustedProxies = [...cidrList('trust-proxy', [])];
const config = trackerConfig(Math.max(1, interval), { trustedProxies, trustIpParam: values['trust-ip-param'] === true });
const count = (name: string, key: keyof StoreLimits) => Math.round(parsePositiveFlag(values[name], name, DEFAULT_STORE_LIMITS[key] as number));
const storeLimits: StoreLimits = {
  maxTorrents: count('max-torrents', 'maxTorrents'),
  maxPeersPerTorrent: count('max-peers-per-torrent', 'maxPeersPerTorrent'),
  maxPeers: count('max-peers', 'maxPeers'),
  maxPeersPerAddress: count('max-peers-per-address', 'maxPeersPerAddress'),
  newTorrentsPerMinute: parsePositiveFlag(values['new-torrents-per-minute'], 'new-torrents-per-minute', DEFAULT_STORE_LIMITS.newTorrentsPerMinute),
  newTorrentsBurst: count('new-torrents-burst', 'newTorrentsBurst'),
  exempt: cidrList('exempt', DEFAULT_STORE_LIMITS.exempt),
};
const tracker = createTrackerServer(new MemorySwarmStore(2 * config.interval * 1000, storeLimits), config);
try {
  await listen(tracker.server, port, host);
} catch (e) {
  die(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
}
const shutdown = () => void tracker.stop().then(() => process.exit(0));
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
// Printed after the handlers, so a SIGTERM sent on seeing this line exits cleanly.
console.log(`* Running on http://${urlHost(host)}:${port}`);
