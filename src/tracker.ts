/** `npm run tracker`: the BitTorrent HTTP tracker (BEP 3/23/48) on 127.0.0.1:5001. */
import { parseFlags, parsePortFlag, parsePositiveFlag, die } from './cli/common.ts';
import { DEFAULT_STORE_LIMITS, MemorySwarmStore } from './tracker/store.ts';
import { createTrackerServer } from './tracker/server.ts';
import { trackerConfig } from './tracker/handlers.ts';
import { parseCidr } from './tracker/client-address.ts';
import { listen } from './net/server-timeouts.ts';
import { urlHost } from './bittorrent/address.ts';

const usage = `usage: npm run tracker -- [--host 127.0.0.1] [--port 5001] [--interval 1800]
                          [--trust-proxy CIDR ...] [--trust-ip-param]
  --host            address to bind (default 127.0.0.1)
  --port            port to listen on (default 5001)
  --interval        seconds between client announces; silent peers are dropped after 2 x interval
  --trust-proxy     a proxy (address or CIDR, repeatable) whose X-Forwarded-For is believed;
                    the right-most hop that is not a trusted proxy is the client
  --trust-ip-param  use the announce's ip parameter (lets anyone register any address)
  --max-torrents    torrents tracked at once (default 1000000)
  --max-peers-per-torrent  peers per torrent (default 20000)`;

const { values } = parseFlags(
  {
    host: { type: 'string' },
    port: { type: 'string' },
    interval: { type: 'string' },
    'trust-proxy': { type: 'string', multiple: true },
    'trust-ip-param': { type: 'boolean' },
    'max-torrents': { type: 'string' },
    'max-peers-per-torrent': { type: 'string' },
  },
  usage,
);
const host = (values['host'] as string | undefined) ?? '127.0.0.1';
const port = parsePortFlag(values['port'], 'port', 5001);
const interval = Math.round(parsePositiveFlag(values['interval'], 'interval', 1800));

let trustedProxies;
try {
  trustedProxies = ((values['trust-proxy'] as unknown as string[] | undefined) ?? []).flatMap((v) => v.split(',')).map((v) => parseCidr(v.trim()));
} catch (e) {
  die(`--trust-proxy: ${(e as Error).message}`, 2);
}
const config = trackerConfig(Math.max(1, interval), { trustedProxies, trustIpParam: values['trust-ip-param'] === true });
const storeLimits = {
  maxTorrents: Math.round(parsePositiveFlag(values['max-torrents'], 'max-torrents', DEFAULT_STORE_LIMITS.maxTorrents)),
  maxPeersPerTorrent: Math.round(parsePositiveFlag(values['max-peers-per-torrent'], 'max-peers-per-torrent', DEFAULT_STORE_LIMITS.maxPeersPerTorrent)),
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
