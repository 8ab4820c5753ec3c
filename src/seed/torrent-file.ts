/**
 * Writing `<name>.torrent` without clobbering a torrent of other data: a seeder of another file
 * with the same name (another port, another folder) must not replace the first one's torrent,
 * which requesters may still be using.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseMetainfo, type Metainfo } from '../metainfo/metainfo.ts';

/**
 * Whether an existing torrent file may be replaced by ours: it describes the same data (same
 * info_hash: ours has the current tracker and web seed), or it is an older share by this same
 * seeder (its web seed is our address). Anything else, unreadable files included, is kept.
 */
export function mayReplace(existing: Buffer, ours: Metainfo, ourWebSeed: string | undefined): boolean {
  let theirs: Metainfo;
  try {
    theirs = parseMetainfo(existing);
  } catch {
    return false;
  }
  if (theirs.infoHashHex === ours.infoHashHex) return true;
  return ourWebSeed !== undefined && theirs.urlList.some((u) => u.startsWith(`${ourWebSeed}/`));
}

/** The file name to use in `dir` for `name`'s torrent: `<name>.torrent`, else `<name>.<8 hex>.torrent`. */
export async function torrentFileName(dir: string, name: string, ours: Metainfo, ourWebSeed: string | undefined): Promise<string> {
  const plain = `${name}.torrent`;
  const existing = await readFile(path.join(dir, plain)).catch(() => null);
  if (existing === null || mayReplace(existing, ours, ourWebSeed)) return plain;
  return `${name}.${ours.infoHashHex.slice(0, 8)}.torrent`;
}

/** Write `torrent` as the chosen name in `dir`; resolves with the path written. */
export async function writeTorrentFile(dir: string, fileName: string, torrent: Buffer): Promise<string> {
  const file = path.join(dir, fileName);
  await writeFile(file, torrent);
  return file;
}
