/** `npm run tracker`'s flags -> the tracker's configuration, store limits and connection caps. */
import { parseFlags, parsePortFlag, parsePositiveFlag, die } from '../cli/common.ts';
import { DEFAULT_STORE_LIMITS, type StoreLimits } from './store/swarm-store.ts';
import { trackerConfig, type TrackerConfig } from './service.ts';
import { parseCidr, type Cidr } from './client-address.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './http/connection-cap.ts';

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
  --max-connections open connections, all addresses together (default 10000); more are closed
  --max-connections-per-ip  open connections of one address (IPv4 /32, IPv6 /64) once half of
                    --max-connections are in use (default 256)
  --exempt          an address or CIDR (repeatable) the per-address limits do not apply to
                    (default 127.0.0.0/8 and ::1, this machine; "none": every address limited)`;

export interface TrackerOptions {
  host: string;
  port: number;
  config: TrackerConfig;
  storeLimits: StoreLimits;
  connections: ConnectionLimits;
}

export function trackerOptions(): TrackerOptions {
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
      'max-connections': { type: 'string' },
      'max-connections-per-ip': { type: 'string' },
      exempt: { type: 'string', multiple: true },
    },
    usage,
  );
  const interval = Math.round(parsePositiveFlag(values['interval'], 'interval', 1800));
  /** A repeatable, comma-separable list of addresses and CIDRs; `none` alone is the empty list. */
  const cidrList = (name: string, fallback: readonly Cidr[]): readonly Cidr[] => {
    const given = values[name] as unknown as string[] | undefined;
    if (given === undefined) return fallback;
    const items = given.flatMap((v) => v.split(',')).map((v) => v.trim());
    if (items.length === 1 && items[0] === 'none') return [];
    try {
      return items.map((v) => parseCidr(v));
    } catch (e) {
      die(`--${name}: ${(e as Error).message}`, 2);
    }
  };
  const count = (name: string, fallback: number) => Math.round(parsePositiveFlag(values[name], name, fallback));
  const exempt = cidrList('exempt', DEFAULT_STORE_LIMITS.exempt);
  const d = DEFAULT_STORE_LIMITS;
  return {
    host: (values['host'] as string | undefined) ?? '127.0.0.1',
    port: parsePortFlag(values['port'], 'port', 5001),
    config: trackerConfig(Math.max(1, interval), { trustedProxies: [...cidrList('trust-proxy', [])], trustIpParam: values['trust-ip-param'] === true }),
    storeLimits: {
      maxTorrents: count('max-torrents', d.maxTorrents),
      maxPeersPerTorrent: count('max-peers-per-torrent', d.maxPeersPerTorrent),
      maxPeers: count('max-peers', d.maxPeers),
      maxPeersPerAddress: count('max-peers-per-address', d.maxPeersPerAddress),
      newTorrentsPerMinute: parsePositiveFlag(values['new-torrents-per-minute'], 'new-torrents-per-minute', d.newTorrentsPerMinute),
      newTorrentsBurst: count('new-torrents-burst', d.newTorrentsBurst),
      exempt,
    },
    connections: {
      maxConnections: count('max-connections', DEFAULT_CONNECTION_LIMITS.maxConnections),
      maxConnectionsPerAddress: count('max-connections-per-ip', DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress),
      exempt,
    },
  };
}
