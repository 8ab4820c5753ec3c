/** `npm run requester`: download the file of a `.torrent` from the peers its tracker lists. */
import { readFile, stat } from 'node:fs/promises';
import { parseFlags, parsePortFlag, parsePositiveFlag, askUntil, closeInput, die, UserError } from './cli/common.ts';
import { parseMetainfo, MetainfoError, MAX_TORRENT_BYTES, type Metainfo } from './metainfo/metainfo.ts';
import { newPeerId } from './peer/peer-id.ts';
import { runDownload, SessionError } from './download/session.ts';

const usage = `usage: npm run requester -- [TORRENT] [--host 127.0.0.1] [--port 6882] [--out DIR] [--wait 60]
  TORRENT   path to the .torrent file (asked for when not given)
  --host    address to bind while downloading (default 127.0.0.1)
  --port    port on which verified pieces are served to other peers (default 6882)
  --out     folder to save into (default peer_<port>)
  --wait    seconds to keep trying when no seeder or tracker answers (default 60)`;

const { values, positionals } = parseFlags(
  { host: { type: 'string' }, port: { type: 'string' }, out: { type: 'string' }, wait: { type: 'string' } },
  usage,
);
const host = (values['host'] as string | undefined) ?? '127.0.0.1';
const port = parsePortFlag(values['port'], 'port', 6882);
const outDir = (values['out'] as string | undefined) ?? `peer_${port}`;
const waitSeconds = parsePositiveFlag(values['wait'], 'wait', 60);

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

const announceUrl = meta.announce ?? meta.announceList[0]?.[0];
if (!announceUrl) die('the torrent names no tracker');

try {
  await runDownload({ meta, announceUrl, outDir, host, port, peerId: newPeerId(), waitSeconds, log: (l) => console.log(l) });
  process.exit(0);
} catch (e) {
  if (e instanceof SessionError) die(e.message);
  throw e;
}
