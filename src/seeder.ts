/**
 * `npm run seeder`: share one file or folder. Hashes it, writes `<name>.torrent`, copies the torrent to the
 * requester's folder, registers with the tracker and serves the data over HTTP.
 */
import { copyFile, cp, mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags, parsePortFlag, parseRateFlag, askUntil, closeInput, die, UserError } from './cli/common.ts';
import { parseByteSize } from './cli/sizes.ts';
import { parsePeerFlags, PEER_FLAGS, PEER_FLAGS_USAGE } from './cli/peer-flags.ts';
import { listTree, makeTorrent } from './metainfo/create.ts';
import { isValidPieceLength } from './metainfo/build.ts';
import { parseMetainfo } from './metainfo/metainfo.ts';
import { unsafeComponentReason } from './storage/safe-path.ts';
import { PieceStore } from './storage/piece-store.ts';
import { storageFiles } from './storage/layout.ts';
import { Bitfield } from './bittorrent/bitfield.ts';
import { PeerNode } from './peer/peer-node.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { Announcer, TrackerFailure } from './tracker/client.ts';
import { DialOut } from './peer/dial-out.ts';
import { urlHost } from './bittorrent/address.ts';

const usage = `usage: npm run seeder -- [FILE] [--host 127.0.0.1] [--port 6881] [--tracker URL]
                        [--piece-length SIZE] [--dir DIR] [--requester-dir DIR]
  FILE             the file or folder to share (asked for when not given)
  --host           address to bind (default 127.0.0.1)
  --port           port to serve on (default 6881)
  --tracker        announce URL written into the torrent (default http://127.0.0.1:5001/announce)
  --piece-length   power of two from 16K to 128M (default: about 1,000-2,000 pieces)
  --dir            the seeder's folder (default peer_<port>)
  --requester-dir  where the .torrent is copied for the requester (default peer_6882)
  --max-upload-rate  cap on upload, bytes per second (e.g. 10M, 512K)
  --public-url     base URL at which others reach this seeder, for the torrent's web seed
                   (url-list, BEP 19); default http://<host>:<port>
  --no-web-seed    write no url-list into the torrent
${PEER_FLAGS_USAGE}`;

const { values, positionals } = parseFlags(
  {
    host: { type: 'string' },
    port: { type: 'string' },
    tracker: { type: 'string' },
    'piece-length': { type: 'string' },
    dir: { type: 'string' },
    'requester-dir': { type: 'string' },
    'max-upload-rate': { type: 'string' },
    'public-url': { type: 'string' },
    'no-web-seed': { type: 'boolean' },
    ...PEER_FLAGS,
  },
  usage,
);
const host = (values['host'] as string | undefined) ?? '127.0.0.1';
const port = parsePortFlag(values['port'], 'port', 6881);
const announceUrl = (values['tracker'] as string | undefined) ?? 'http://127.0.0.1:5001/announce';
if (!/^https?:\/\/[^/]+/i.test(announceUrl)) die('--tracker must be an http:// announce URL', 2);
const seedDir = (values['dir'] as string | undefined) ?? `peer_${port}`;
const requesterDir = (values['requester-dir'] as string | undefined) ?? 'peer_6882';
const maxUploadRate = parseRateFlag(values['max-upload-rate'], 'max-upload-rate');
const peerLimits = parsePeerFlags(values);
// Where others reach our web seed. A wildcard bind address names no host, so it needs --public-url.
const wildcard = host === '0.0.0.0' || host === '::';
let publicUrl = (values['public-url'] as string | undefined) ?? (wildcard ? undefined : `http://${urlHost(host)}:${port}`);
if (publicUrl !== undefined && !/^https?:\/\/[^/]+/i.test(publicUrl)) die('--public-url must be an http:// URL', 2);
if (values['no-web-seed']) publicUrl = undefined;
publicUrl = publicUrl?.replace(/\/+$/, '');
let pieceLength: number | undefined;
if (values['piece-length'] !== undefined) {
  const n = parseByteSize(String(values['piece-length']));
  if (n === null || !isValidPieceLength(n)) die('--piece-length must be a power of two from 16K to 128M', 2);
  pieceLength = n;
}

/** Accept a path to a non-empty regular file or folder. */
async function checkFile(answer: string): Promise<string> {
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

const file = positionals[0] !== undefined
  ? await checkFile(positionals[0]).catch((e: Error) => die(e.message))
  : await askUntil('Enter the file name to share :', checkFile);
closeInput();
const name = path.basename(path.resolve(file));

/** Copy a file, or a folder's regular files and folders (symlinks followed), unless already there. */
async function copyInto(src: string, dest: string): Promise<void> {
  const same = await realpath(dest).then((p) => realpath(src).then((q) => p === q), () => false);
  if (same) return;
  if ((await stat(src)).isDirectory()) {
    // A fresh copy: files left from an earlier share of a changed folder must not be listed.
    await rm(dest, { recursive: true, force: true });
    await cp(src, dest, {
      recursive: true,
      dereference: true,
      filter: async (from) => {
        const st = await stat(from).catch(() => null);
        return !!st && (st.isDirectory() || st.isFile());
      },
    });
  } else {
    await copyFile(src, dest);
  }
}

try {
  // The seeder serves its own copy in its folder, as in the report.
  await mkdir(seedDir, { recursive: true });
  const dataPath = path.join(seedDir, name);
  await copyInto(file, dataPath);

  const torrent = await makeTorrent(dataPath, name, {
    announce: announceUrl,
    pieceLength,
    urlList: publicUrl ? (hash) => [`${publicUrl}/webseed/${hash}/`] : undefined,
  });
  const torrentName = `${name}.torrent`;
  await writeFile(torrentName, torrent);
  console.log(`.torrent file created: ${torrentName}`);
  await mkdir(requesterDir, { recursive: true });
  await copyFile(torrentName, path.join(requesterDir, torrentName));
  console.log('.torrent file copied to requester folder');

  const meta = parseMetainfo(torrent);
  console.log(`Info hash: ${meta.infoHashHex}`);

  const store = await PieceStore.openForReading(storageFiles(meta, seedDir));
  const peerId = newPeerId();
  const node = new PeerNode({ ...peerLimits, maxUploadRate, peerId });
  const dialOut = new DialOut(node, meta.infoHashHex);
  node.share({ meta, store, have: Bitfield.full(meta.pieceCount) });
  await node.listen(port, host).catch((e: Error) => die(`cannot listen on ${host}:${port}: ${e.message}`));

  let registered = false;
  let firstAttempt!: () => void;
  const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
  const announcer = new Announcer(
    announceUrl,
    { infoHash: meta.infoHash, peerId, port, numwant: 50 },
    () => ({ uploaded: node.counter.uploaded, downloaded: 0, left: 0 }),
    {
      onReply: (reply) => {
        if (!registered) console.log('Successfully registered with tracker.');
        registered = true;
        firstAttempt();
        dialOut.dialAll(reply.peers);
      },
      onError: (e, retry) => {
        console.log(`${e instanceof TrackerFailure ? 'Tracker said no' : 'Tracker unreachable'} (${e.message}); still serving, retrying in ${retry} s`);
        firstAttempt();
      },
    },
  );
  // Handlers before any output that a script may react to with a SIGTERM.
  const shutdown = async () => {
    await announcer.stop();
    await node.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  announcer.start();
  await attempted;
  console.log(`* Running on http://${urlHost(host)}:${port}`);
} catch (e) {
  die((e as Error).message);
}
