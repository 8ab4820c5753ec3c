/** `npm run tracker`'s flags -> the tracker's configuration, store limits and connection caps. */
import { parseFlags, parsePortFlag, parsePositiveFlag, die, type Flags } from '../cli/common.ts';
import { DEFAULT_STORE_LIMITS, type StoreLimits } from './store/swarm-store.ts';
import { trackerConfig, type TrackerConfig } from './service.ts';
import { parseCidr, type Cidr } from './client-address.ts';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './http/connection-cap.ts';

const usage = `usage: npm run tracker -- [--host 127.0.0.1] [--port 5001] [--interval 1800]
                          [--udp-port PORT | --no-udp] [--secret S] [--store URL] [--workers N]
                          [--whitelist FILE] [--blacklist FILE] [--metrics-host H --metrics-port P]
                          [--trust-proxy CIDR ...] [--trust-ip-param] [limits below]
  --host            address to bind (default 127.0.0.1)
  --port            HTTP port to listen on (default 5001)
  --udp-port        UDP tracker port (BEP 15; default: the same number as --port)
  --no-udp          no UDP tracker
  --secret          key of the UDP connection ids, the same for every process of one tracker
                    (default: $TRACKER_SECRET, else random per run)
  --store           where swarms live: memory (default) or redis://HOST:PORT[/DB]
  --workers         processes sharing the ports (default 1; more need a shared --store)
  --whitelist       a file of hex info_hashes, one a line: only these are tracked (SIGHUP re-reads)
  --blacklist       a file of hex info_hashes never tracked (SIGHUP re-reads)
  --metrics-host    serve /metrics and /stats on this address too ...
  --metrics-port    ... and port (they are always on the public port as well)
  -v, --verbose     log each announce in one line
  -q, --quiet       print nothing but errors (no "Running on" lines)
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
  /** `-v`: one line per announce; `-q`: errors only; default: the start-up lines. */
  verbosity: 'quiet' | 'normal' | 'verbose';
  /** The UDP tracker's port, or null for none. */
  udpPort: number | null;
  /** The key of UDP connection ids; null: random per run (a cluster's primary picks one for all). */
  secret: string | null;
  /** `memory` or a `redis://` URL. */
  store: string;
  workers: number;
  whitelist?: string;
  blacklist?: string;
  metrics: { host: string; port: number } | null;
  config: TrackerConfig;
  storeLimits: StoreLimits;
  connections: ConnectionLimits;
}

export function trackerOptions(): TrackerOptions {
  const { values } = parseFlags(
    {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      verbose: { type: 'boolean', short: 'v' },
      quiet: { type: 'boolean', short: 'q' },
      'udp-port': { type: 'string' },
      'no-udp': { type: 'boolean' },
      secret: { type: 'string' },
      store: { type: 'string' },
      workers: { type: 'string' },
      whitelist: { type: 'string' },
      blacklist: { type: 'string' },
      'metrics-host': { type: 'string' },
      'metrics-port': { type: 'string' },
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
    0,
  );
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  const port = parsePortFlag(values['port'], 'port', 5001);
  const interval = Math.round(parsePositiveFlag(values['interval'], 'interval', 1800));
  if (values['verbose'] && values['quiet']) die('--verbose and --quiet contradict each other', 2);
  return {
    host,
    port,
    verbosity: values['verbose'] ? 'verbose' : values['quiet'] ? 'quiet' : 'normal',
    ...deploymentOptions(values, host, port),
    config: trackerConfig(Math.max(1, interval), { trustedProxies: [...cidrList(values, 'trust-proxy', [])], trustIpParam: values['trust-ip-param'] === true }),
    ...limitOptions(values),
  };
}

type FlagValues = Flags['values'];

/** A repeatable, comma-separable list of addresses and CIDRs; `none` alone is the empty list. */
function cidrList(values: FlagValues, name: string, fallback: readonly Cidr[]): readonly Cidr[] {
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

/** Where the tracker runs: UDP, the store, its processes, its torrent lists, its metrics port. */
function deploymentOptions(values: FlagValues, host: string, port: number): Pick<TrackerOptions, 'udpPort' | 'secret' | 'store' | 'workers' | 'whitelist' | 'blacklist' | 'metrics'> {
  if (values['no-udp'] === true && values['udp-port'] !== undefined) die('--udp-port and --no-udp contradict each other', 2);
  const store = (values['store'] as string | undefined) ?? 'memory';
  if (store !== 'memory' && !/^rediss?:\/\//i.test(store)) die('--store must be memory or a redis:// URL', 2);
  const workers = Math.round(parsePositiveFlag(values['workers'], 'workers', 1));
  if (workers > 1 && store === 'memory') die('--workers needs a shared store: each process would have its own swarms (add --store redis://HOST:PORT)', 2);
  if (values['metrics-host'] !== undefined && values['metrics-port'] === undefined) die('--metrics-host needs --metrics-port', 2);
  const secret = (values['secret'] as string | undefined) ?? process.env['TRACKER_SECRET'] ?? null;
  if (secret !== null && secret.length < 16) die('--secret must be at least 16 characters', 2);
  return {
    udpPort: values['no-udp'] === true ? null : parsePortFlag(values['udp-port'], 'udp-port', port),
    secret,
    store,
    workers,
    whitelist: values['whitelist'] as string | undefined,
    blacklist: values['blacklist'] as string | undefined,
    metrics: values['metrics-port'] === undefined ? null : { host: (values['metrics-host'] as string | undefined) ?? host, port: parsePortFlag(values['metrics-port'], 'metrics-port', 0) },
  };
}

/** The store's limits and the connection caps. */
function limitOptions(values: FlagValues): Pick<TrackerOptions, 'storeLimits' | 'connections'> {
  const count = (name: string, fallback: number) => Math.round(parsePositiveFlag(values[name], name, fallback));
  const exempt = cidrList(values, 'exempt', DEFAULT_STORE_LIMITS.exempt);
  const d = DEFAULT_STORE_LIMITS;
  return {
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
