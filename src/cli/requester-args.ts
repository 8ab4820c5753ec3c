/** The requester's command line: flags, usage, their checks, and the reading of the torrent. */
import { readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import { normalizeAddress } from '../bittorrent/address.ts';
import { die, parseFlags, parsePortFlag, parsePositiveFlag, parseRateFlag, UserError } from './common.ts';
import { PEER_PROTOCOLS, type PeerProtocol } from '../download/sources/peer-sources.ts';
import { parsePeerFlags, PEER_FLAGS, PEER_FLAGS_USAGE } from './peer-flags.ts';
import { parseMetainfo, MetainfoError, MAX_TORRENT_BYTES, type Metainfo } from '../metainfo/metainfo.ts';
import type { PeerNodeOptions } from '../peer/peer-node.ts';
import type { TrackerPeer } from '../tracker-client/reply.ts';
import { fsErrorMessage } from './fs-messages.ts';
import { looksLikeMagnet, MagnetError, parseMagnet, type MagnetLink } from '../magnet/magnet-uri.ts';

const usage = `usage: npm run requester -- [TORRENT...] [--host 127.0.0.1] [--port 6882] [--out DIR] [--wait 60]
                           [--no-seed] [--max-upload-rate RATE] [--request-timeout 20] [--peer HOST:PORT]...
  TORRENT...          paths to .torrent files and/or magnet links in quotes, all downloaded at once
                      on one port (one asked for when none given)
  --host              address to bind (default 127.0.0.1)
  -p, --port          port on which verified pieces are served to other peers (default 6882)
  -o, --out           folder to save into (default peer_<port>)
  -q, --quiet         print nothing but errors (and the prompt, if it asks)
  --wait              seconds without progress (no tracker, no seeder, no data) before giving up (default 60)
  --no-seed           exit after the download instead of seeding until Ctrl-C / SIGTERM
  --seed              seed after the download (the default)
  --max-upload-rate   cap on upload, bytes per second (e.g. 10M, 512K)
  --request-timeout   seconds a peer may stay silent on a request before it goes to another (default 20)
  --protocol          auto (peers of ours over our HTTP piece API, others over BitTorrent: the
                      default) | wire (BitTorrent protocol with every peer) | http (our API only)
  --peer              a peer to dial besides the tracker's, as 1.2.3.4:6881 or [::1]:6881 (repeatable)
  --json              newline-delimited JSON events on stdout instead of the lines for people
                      (torrent, peer, webseed, piece, progress, done, seeding, error, log); TORRENT required
${PEER_FLAGS_USAGE}`;

export interface RequesterArgs {
  /** The TORRENT arguments (none: one is asked for). */
  torrents: string[];
  host: string;
  port: number;
  outDir: string;
  waitSeconds: number;
  requestTimeoutSeconds: number;
  seed: boolean;
  maxUploadRate: number | undefined;
  peerLimits: PeerNodeOptions;
  protocol: PeerProtocol;
  /** Peers given with --peer, dialled like the tracker's. */
  peers: TrackerPeer[];
  /** `--json`: events for scripts on stdout (src/cli/json-events.ts). */
  json: boolean;
  /** `-q`: no lines but errors. */
  quiet: boolean;
}

/** Parse the command line; a bad flag ends the program with status 2 and the usage. */
export function parseRequesterArgs(): RequesterArgs {
  const { values, positionals } = parseFlags(
    {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      out: { type: 'string', short: 'o' },
      quiet: { type: 'boolean', short: 'q' },
      wait: { type: 'string' },
      'no-seed': { type: 'boolean' },
      seed: { type: 'boolean' },
      'max-upload-rate': { type: 'string' },
      'request-timeout': { type: 'string' },
      protocol: { type: 'string' },
      peer: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      ...PEER_FLAGS,
    },
    usage,
    Infinity,
  );
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  const port = parsePortFlag(values['port'], 'port', 6882);
  const outDir = (values['out'] as string | undefined) ?? `peer_${port}`;
  const waitSeconds = parsePositiveFlag(values['wait'], 'wait', 60);
  const requestTimeoutSeconds = parsePositiveFlag(values['request-timeout'], 'request-timeout', 20);
  const maxUploadRate = parseRateFlag(values['max-upload-rate'], 'max-upload-rate');
  const peerLimits = parsePeerFlags(values, outDir);
  const protocol = (values['protocol'] as string | undefined) ?? 'auto';
  if (!PEER_PROTOCOLS.includes(protocol as PeerProtocol)) die(`--protocol must be one of ${PEER_PROTOCOLS.join(', ')}`, 2);
  const seed = !values['no-seed'];
  const peers = ((values['peer'] as unknown as string[] | undefined) ?? []).map((a) => parsePeerAddress(a) ?? die(`--peer must be HOST:PORT (an IP address), not ${a}`, 2));
  const json = values['json'] === true;
  if (json && positionals.length === 0) die('--json needs the TORRENT argument (it does not ask for one)', 2);
  return { json, quiet: values['quiet'] === true, torrents: positionals, host, port, outDir, waitSeconds, requestTimeoutSeconds, seed, maxUploadRate, peerLimits, protocol: protocol as PeerProtocol, peers };
}

/** `1.2.3.4:6881` or `[2001:db8::1]:6881` as a peer; null if it is not an IP address and a port. */
export function parsePeerAddress(text: string): TrackerPeer | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  const ip = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!ip || net.isIP(ip) === 0 || port < 1 || port > 65535) return null;
  return { ip: normalizeAddress(ip), port };
}

/** What the user gave: a torrent (read and checked) or a magnet link (parsed). */
export type RequesterInput = { meta: Metainfo; magnet?: undefined } | { magnet: MagnetLink; meta?: undefined };

/** A magnet link or a torrent path; any problem is one line for the user. */
export async function loadInput(answer: string): Promise<RequesterInput> {
  if (!looksLikeMagnet(answer)) return { meta: await loadTorrent(answer) };
  try {
    return { magnet: parseMagnet(answer) };
  } catch (e) {
    if (e instanceof MagnetError) throw new UserError(`bad magnet link: ${e.message}`);
    throw e;
  }
}

/** Read and validate a torrent; any problem is one line for the user. */
export async function loadTorrent(file: string): Promise<Metainfo> {
  if (!file) throw new UserError('Please enter the path to a .torrent file.');
  let bytes: Buffer;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UserError(st.isDirectory() ? `${file} is a folder, not a .torrent file` : `${file} is not a file`);
    if (st.size > MAX_TORRENT_BYTES) throw new UserError(`${file} is too large to be a torrent`);
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(fsErrorMessage(e, file));
  }
  try {
    return parseMetainfo(bytes);
  } catch (e) {
    if (e instanceof MetainfoError) throw new UserError(`${file} is not a valid torrent: ${e.message}`);
    throw e;
  }
}
