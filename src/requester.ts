/** `npm run requester`: download the file of a `.torrent` from the peers its tracker lists, then seed it. */
import { readFile, stat } from 'node:fs/promises';
import { parseFlags, parsePortFlag, parsePositiveFlag, parseRateFlag, askUntil, closeInput, die, UserError } from './cli/common.ts';
import { ProgressDisplay } from './cli/progress.ts';
import { parsePeerFlags, PEER_FLAGS, PEER_FLAGS_USAGE } from './cli/peer-flags.ts';
import { parseMetainfo, MetainfoError, MAX_TORRENT_BYTES, type Metainfo } from './metainfo/metainfo.ts';
import { newPeerId } from './bittorrent/peer-id.ts';
import { runDownload, SessionError } from './download/session.ts';
import { trackerTiers } from './tracker/client.ts';

const usage = `usage: npm run requester -- [TORRENT] [--host 127.0.0.1] [--port 6882] [--out DIR] [--wait 60]
                           [--no-seed] [--max-upload-rate RATE] [--request-timeout 20]
  TORRENT             path to the .torrent file (asked for when not given)
  --host              address to bind (default 127.0.0.1)
  --port              port on which verified pieces are served to other peers (default 6882)
  --out               folder to save into (default peer_<port>)
  --wait              seconds without progress (no tracker, no seeder, no data) before giving up (default 60)
  --no-seed           exit after the download instead of seeding until Ctrl-C / SIGTERM
  --seed              seed after the download (the default)
  --max-upload-rate   cap on upload, bytes per second (e.g. 10M, 512K)
  --request-timeout   seconds a peer may stay silent on a request before it goes to another (default 20)
${PEER_FLAGS_USAGE}`;

const { values, positionals } = parseFlags(
  {
    host: { type: 'string' },
    port: { type: 'string' },
    out: { type: 'string' },
    wait: { type: 'string' },
    'no-seed': { type: 'boolean' },
    seed: { type: 'boolean' },
    'max-upload-rate': { type: 'string' },
    'request-timeout': { type: 'string' },
    ...PEER_FLAGS,
  },
  usage,
);
const host = (values['host'] as string | undefined) ?? '127.0.0.1';
const port = parsePortFlag(values['port'], 'port', 6882);
const outDir = (values['out'] as string | undefined) ?? `peer_${port}`;
const waitSeconds = parsePositiveFlag(values['wait'], 'wait', 60);
const requestTimeoutSeconds = parsePositiveFlag(values['request-timeout'], 'request-timeout', 20);
const maxUploadRate = parseRateFlag(values['max-upload-rate'], 'max-upload-rate');
const peerLimits = parsePeerFlags(values);

/** Read and validate a torrent; any problem is one line for the user. */
async function loadTorrent(file: string): Promise<Metainfo> {
  if (!file) throw new UserError('Please enter the path to a .torrent file.');
  let bytes: Buffer;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UserError(`${file} is not a file`);
    if (st.size > MAX_TORRENT_BYTES) throw new UserError(`${file} is too large to be a torrent`);
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseMetainfo(bytes);
  } catch (e) {
    if (e instanceof MetainfoError) throw new UserError(`${file} is not a valid torrent: ${e.message}`);
    throw e;
  }
}

const meta = positionals[0] !== undefined
  ? await loadTorrent(positionals[0]).catch((e: Error) => die(e.message))
  : await askUntil('Enter the path to the .torrent file:', loadTorrent);
closeInput();
console.log(`Retrieved info_hash: ${meta.infoHashHex}`);

const trackers = trackerTiers(meta.announce, meta.announceList);
if (trackers.length === 0 && meta.urlList.length === 0) die('the torrent names no http tracker and no web seed');

const display = new ProgressDisplay();
try {
  await runDownload({
    meta,
    trackers,
    outDir,
    host,
    port,
    peerId: newPeerId(),
    waitSeconds,
    requestTimeoutSeconds,
    seed: !values['no-seed'],
    maxUploadRate,
    peerLimits,
    log: (l) => {
      display.end();
      console.log(l);
    },
    onProgress: (p) => display.update(p),
    onDownloaded: () => display.end(),
  });
  process.exit(0);
} catch (e) {
  display.end();
  if (e instanceof SessionError) die(e.message);
  throw e;
}
