/**
 * What the seeder does before it serves: place the data in its folder (a link, not a copy, where
 * the filesystem allows: see place-data.ts), make the torrent, write `<name>.torrent` here and in
 * the requester's folder without clobbering a torrent of other data (torrent-file.ts).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { makeTorrent } from '../metainfo/create.ts';
import { parseMetainfo, type Metainfo } from '../metainfo/metainfo.ts';
import { placeData } from './place-data.ts';
import { torrentFileName, writeTorrentFile } from './torrent-file.ts';

export interface ShareOptions {
  seedDir: string;
  requesterDir: string;
  announceUrl: string;
  pieceLength: number | undefined;
  /** The web seed's base URL, or undefined for no url-list. */
  publicUrl: string | undefined;
  /** A full copy of the data into the seeder's folder, as the report's seeder made (`--copy`). */
  copy: boolean;
}

export interface PreparedShare {
  meta: Metainfo;
  /** The folder holding the data under the torrent's name: what the seeder serves from. */
  dataRoot: string;
}

/** Prepare `file` for seeding; `log` gets the user's lines. */
export async function prepareShare(file: string, o: ShareOptions, log: (line: string) => void): Promise<PreparedShare> {
  const name = path.basename(path.resolve(file));
  const placed = await placeData(file, o.seedDir, name, o.copy);
  if (placed.how === 'in place') log(`Serving ${path.resolve(file)} where it is (this filesystem allows no link into ${o.seedDir}; --copy makes a copy)`);
  const { publicUrl } = o;
  const torrent = await makeTorrent(path.join(placed.root, name), name, {
    announce: o.announceUrl,
    pieceLength: o.pieceLength,
    urlList: publicUrl ? (hash) => [`${publicUrl}/webseed/${hash}/`] : undefined,
  });
  const meta = parseMetainfo(torrent);
  const written = await writeBeside('.', name, meta, torrent, publicUrl, log);
  log(`.torrent file created: ${written}`);
  await mkdir(o.requesterDir, { recursive: true });
  await writeBeside(o.requesterDir, name, meta, torrent, publicUrl, log);
  log('.torrent file copied to requester folder');
  return { meta, dataRoot: placed.root };
}

async function writeBeside(dir: string, name: string, meta: Metainfo, torrent: Buffer, publicUrl: string | undefined, log: (line: string) => void): Promise<string> {
  const fileName = await torrentFileName(dir, name, meta, publicUrl);
  if (fileName !== `${name}.torrent`) log(`${path.join(dir, `${name}.torrent`)} describes other data: kept; this torrent is ${fileName}`);
  const file = await writeTorrentFile(dir, fileName, torrent);
  return dir === '.' ? fileName : file;
}
