/**
 * Making a `.torrent` from files on disk: walk a folder in mktorrent's order, hash the data as a
 * stream, encode (build.ts). With mktorrent's order and keys, the info_hash equals mktorrent's
 * for the same data and piece length.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPieces } from './piece-hashing.ts';
import { choosePieceLength, encodeTorrent, infoHashHexOf, type TorrentSpec } from './build.ts';

export interface TreeFile {
  /** Path components under the shared folder. */
  path: string[];
  absPath: string;
  length: number;
}

/**
 * The files of a folder in mktorrent's order: byte-wise comparison of the whole relative path
 * (so `a-b` sorts before `a/c`). Dotfiles and empty files are included, symlinks followed (a
 * link back to a folder being walked is skipped), other non-regular files skipped.
 */
export async function listTree(dir: string): Promise<TreeFile[]> {
  const out: TreeFile[] = [];
  const walking = new Set<string>();
  async function walk(abs: string, rel: string[]): Promise<void> {
    const real = await realpath(abs);
    if (walking.has(real)) return;
    walking.add(real);
    for (const entry of await readdir(abs)) {
      const child = join(abs, entry);
      let st;
      try {
        st = await stat(child); // follows symlinks
      } catch {
        continue; // a dangling link
      }
      if (st.isDirectory()) await walk(child, [...rel, entry]);
      else if (st.isFile()) out.push({ path: [...rel, entry], absPath: child, length: st.size });
    }
    walking.delete(real);
  }
  await walk(dir, []);
  const key = (f: TreeFile) => Buffer.from(f.path.join('/'));
  return out.sort((a, b) => Buffer.compare(key(a), key(b)));
}

/**
 * Hash a file or a folder and build its `.torrent` bytes: single-file for a file, multi-file
 * (BEP 3 `files`) for a folder.
 */
export async function makeTorrent(
  path: string,
  name: string,
  opts: { announce: string; pieceLength?: number; urlList?: string[] | ((infoHashHex: string) => string[]) },
): Promise<Buffer> {
  const st = await stat(path);
  const files = st.isDirectory() ? await listTree(path) : [{ path: [], absPath: path, length: st.size }];
  const total = files.reduce((s, f) => s + f.length, 0);
  const pieceLength = opts.pieceLength ?? choosePieceLength(total);
  let offset = 0;
  const layout = files.map((f) => ({ path: f.absPath, length: f.length, offset: (offset += f.length) - f.length }));
  const pieces = await hashPieces(layout, pieceLength);
  const spec: TorrentSpec = {
    announce: opts.announce,
    name,
    pieceLength,
    pieces,
    length: st.isDirectory() ? undefined : total,
    files: st.isDirectory() ? files.map((f) => ({ length: f.length, path: f.path })) : undefined,
    createdBy: 'p2p-bittorrent 0.1.0',
    creationDate: Math.floor(Date.now() / 1000),
  };
  // A web seed URL may name the torrent by its info_hash, known once `info` is encoded.
  spec.urlList = typeof opts.urlList === 'function' ? opts.urlList(infoHashHexOf(spec)) : opts.urlList;
  return encodeTorrent(spec);
}
