/** The seeder's command line: flags, usage, their checks, and the check of the file to share. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags, parsePortFlag, parseRateFlag, die, UserError } from './common.ts';
import { parseByteSize } from './sizes.ts';
import { parsePeerFlags, PEER_FLAGS, PEER_FLAGS_USAGE } from './peer-flags.ts';
import { listTree } from '../metainfo/create.ts';
import { isValidPieceLength } from '../metainfo/build.ts';
import { unsafeComponentReason } from '../storage/safe-path.ts';
import { urlHost } from '../bittorrent/address.ts';
import { isWildcard, publicAddress } from '../net/reachable-addresses.ts';
import type { PeerNodeOptions } from '../peer/peer-node.ts';

const usage = `usage: npm run seeder -- [FILE...] [--host 127.0.0.1] [--port 6881] [--tracker URL]
                        [--piece-length SIZE] [--dir DIR] [--requester-dir DIR]
  FILE...          the files or folders to share, all on one port (one asked for when none given)
  --host           address to bind (default 127.0.0.1)
  -p, --port       port to serve on (default 6881)
  -q, --quiet      print nothing but errors (and the prompt, if it asks)
  --tracker        announce URL written into the torrent, http(s):// or udp://
                   (default http://127.0.0.1:5001/announce; with a wildcard --host such as
                   0.0.0.0, this machine's first non-loopback address instead of 127.0.0.1)
  --piece-length   power of two from 16K to 128M (default: about 1,000-2,000 pieces)
  --dir            the seeder's folder (default peer_<port>)
  --requester-dir  where the .torrent is copied for the requester (default peer_6882)
  --max-upload-rate  cap on upload, bytes per second (e.g. 10M, 512K)
  --public-url     base URL at which others reach this seeder, for the torrent's web seed
                   (url-list, BEP 19); default http://<host>:<port>, with a wildcard --host
                   this machine's first non-loopback address
  --no-web-seed    write no url-list into the torrent
  --json           newline-delimited JSON events on stdout instead of the lines for people
                   (needs FILE: it does not ask)
  --copy           copy the data into the seeder's folder (default: a hard link or a
                   reflink there, else the data is served where it is: no second copy)
  --super-seed     BEP 16: offer each peer only pieces no other peer was offered, over the
                   BitTorrent protocol only (implies --no-web-seed), so that the first seeder
                   uploads about one copy while a swarm forms
${PEER_FLAGS_USAGE}`;

export interface SeederArgs {
  /** The FILE arguments (none: one is asked for). */
  files: string[];
  host: string;
  port: number;
  announceUrl: string;
  seedDir: string;
  requesterDir: string;
  maxUploadRate: number | undefined;
  peerLimits: PeerNodeOptions;
  /** The web seed's base URL (no trailing slash), or undefined for none. */
  publicUrl: string | undefined;
  pieceLength: number | undefined;
  superSeed: boolean;
  /** `--json`: events for scripts on stdout (src/cli/json-events.ts). */
  json: boolean;
  /** `-q`: no lines but errors. */
  quiet: boolean;
  /** `--copy`: a full copy of the data in the seeder's folder. */
  copy: boolean;
}

/** Parse the command line; a bad flag ends the program with status 2 and the usage. */
export function parseSeederArgs(): SeederArgs {
  const { values, positionals } = parseFlags(
    {
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      quiet: { type: 'boolean', short: 'q' },
      tracker: { type: 'string' },
      'piece-length': { type: 'string' },
      dir: { type: 'string' },
      'requester-dir': { type: 'string' },
      'max-upload-rate': { type: 'string' },
      'public-url': { type: 'string' },
      'no-web-seed': { type: 'boolean' },
      'super-seed': { type: 'boolean' },
      copy: { type: 'boolean' },
      json: { type: 'boolean' },
      ...PEER_FLAGS,
    },
    usage,
    Infinity,
  );
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  const port = parsePortFlag(values['port'], 'port', 6881);
  // A wildcard bind names no host: the torrent gets an address others can reach (reachable-addresses.ts).
  const reachable = urlHost(publicAddress(host));
  const announceUrl = (values['tracker'] as string | undefined) ?? `http://${isWildcard(host) ? reachable : '127.0.0.1'}:5001/announce`;
  if (!/^(https?|udp):\/\/[^/]+/i.test(announceUrl)) die('--tracker must be an http://, https:// or udp:// announce URL', 2);
  const seedDir = (values['dir'] as string | undefined) ?? `peer_${port}`;
  const requesterDir = (values['requester-dir'] as string | undefined) ?? 'peer_6882';
  const maxUploadRate = parseRateFlag(values['max-upload-rate'], 'max-upload-rate');
  const peerLimits = parsePeerFlags(values, seedDir);
  let publicUrl: string | undefined = (values['public-url'] as string | undefined) ?? `http://${reachable}:${port}`;
  if (!/^https?:\/\/[^/]+/i.test(publicUrl)) die('--public-url must be an http:// URL', 2);
  const superSeed = values['super-seed'] === true;
  if (values['no-web-seed'] || superSeed) publicUrl = undefined;
  publicUrl = publicUrl?.replace(/\/+$/, '');
  let pieceLength: number | undefined;
  if (values['piece-length'] !== undefined) {
    const n = parseByteSize(String(values['piece-length']));
    if (n === null || !isValidPieceLength(n)) die('--piece-length must be a power of two from 16K to 128M', 2);
    pieceLength = n;
  }
  const json = values['json'] === true;
  if (json && positionals.length === 0) die('--json needs the FILE argument (it does not ask for one)', 2);
  return { files: distinctNames(positionals), host, port, announceUrl, seedDir, requesterDir, maxUploadRate, peerLimits, publicUrl, pieceLength, superSeed, copy: values['copy'] === true, json, quiet: values['quiet'] === true };
}

/** Each name once: two paths ending in the same name would share one place and one `<name>.torrent`. */
function distinctNames(files: string[]): string[] {
  const seen = new Map<string, string>();
  for (const f of files) {
    const name = path.basename(path.resolve(f));
    const before = seen.get(name);
    if (before !== undefined) die(before === f ? `${f} is given twice` : `${before} and ${f} have the same name ${name}: share one of them, or rename it`, 2);
    seen.set(name, f);
  }
  return files;
}

/** Accept a path to a non-empty regular file or folder (not one holding the seeder's folder). */
export async function checkShareable(answer: string, seedDir: string): Promise<string> {
  if (!answer) throw new UserError('Please enter a file name.');
  let st;
  try {
    st = await stat(answer);
  } catch {
    throw new UserError(`No such file or folder: ${answer}`);
  }
  const name = path.basename(path.resolve(answer));
  const why = unsafeComponentReason(name);
  if (why) throw new UserError(`the name ${name} ${why}`);
  if (Buffer.byteLength(`${name}.torrent`) > 255) throw new UserError(`the name is too long for ${name.slice(0, 20)}....torrent (file names stop at 255 bytes)`);
  if (st.isDirectory()) {
    const inside = path.relative(path.resolve(answer), path.resolve(seedDir));
    if (inside === '' || (!inside.startsWith('..') && !path.isAbsolute(inside))) {
      throw new UserError(`${answer} contains the seeder's folder ${seedDir}; share a folder beside it`);
    }
    const files = await listTree(answer);
    if (files.reduce((n, f) => n + f.length, 0) === 0) throw new UserError(`${answer} holds no data; there is nothing to share`);
    return answer;
  }
  if (!st.isFile()) throw new UserError(`${answer} is not a regular file or folder`);
  if (st.size === 0) throw new UserError(`${answer} is empty; there is nothing to share`);
  return answer;
}
