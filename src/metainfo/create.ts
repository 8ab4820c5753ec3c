/**
 * Making a BEP 3 `.torrent`: choose a piece length, hash the data as a stream, encode.
 * The info dictionary holds exactly the keys mktorrent writes (`length` or `files`, `name`,
 * `piece length`, `pieces`), and folders list their files in mktorrent's order, so the info_hash
 * equals mktorrent's for the same data and piece length.
 */
import { createHash } from 'node:crypto';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { encode } from './bencode.ts';
import { MAX_PIECE_LENGTH } from './metainfo.ts';
import { hashPieces } from './piece-hashing.ts';

export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_CHOSEN_PIECE_LENGTH = 16 * 1024 * 1024;
const TARGET_MAX_PIECES = 2000;

/** Smallest power of two in [16 KiB, 16 MiB] that gives at most ~2,000 pieces (so 1,000-2,000). */
export function choosePieceLength(totalLength: number): number {
  let p = MIN_PIECE_LENGTH;
  while (p < MAX_CHOSEN_PIECE_LENGTH && totalLength / p > TARGET_MAX_PIECES) p *= 2;
  return p;
}

export function isValidPieceLength(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_PIECE_LENGTH && n <= MAX_PIECE_LENGTH && (n & (n - 1)) === 0;
}

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

export interface TorrentSpec {
  announce: string;
  name: string;
  pieceLength: number;
  pieces: Buffer;
  /** Single file: its length. */
  length?: number;
  /** Folder: its files in order. */
  files?: Array<{ length: number; path: string[] }>;
  urlList?: string[];
  createdBy?: string;
  /** Seconds since the epoch. */
  creationDate?: number;
}

function infoDict(t: TorrentSpec) {
  return {
    files: t.files?.map((f) => ({ length: f.length, path: f.path })),
    length: t.files ? undefined : t.length,
    name: t.name,
    'piece length': t.pieceLength,
    pieces: t.pieces,
  };
}

/** Encode a metainfo. Keys outside `info` do not change the info_hash. */
export function encodeTorrent(t: TorrentSpec): Buffer {
  return encode({
    announce: t.announce,
    'created by': t.createdBy,
    'creation date': t.creationDate,
    'url-list': t.urlList && t.urlList.length ? t.urlList : undefined,
    info: infoDict(t),
  });
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
  const infoHashHex = createHash('sha1').update(encode(infoDict(spec))).digest('hex');
  spec.urlList = typeof opts.urlList === 'function' ? opts.urlList(infoHashHex) : opts.urlList;
  return encodeTorrent(spec);
}
