/**
 * Parse and validate a BEP 3 `.torrent` (metainfo) into a checked `Metainfo`.
 * Pure: bytes in, value out; the caller reads the file.
 *
 * The info_hash is the SHA-1 of the `info` value's bytes exactly as they stand in the input,
 * never of a re-encoding, so torrents from other tools (unknown keys, odd key order) keep their hash.
 */
import { createHash } from 'node:crypto';
import { decodeWithSpans, isBytes, isDict, isInt, isList, type BDict, type BValue, BencodeError } from './bencode.ts';
import { unsafeComponentReason } from '../storage/safe-path.ts';

/** Refuse piece lengths above this: a piece is held in memory while it is verified. */
export const MAX_PIECE_LENGTH = 128 * 1024 * 1024;
/** A .torrent bigger than this is not read at all. */
export const MAX_TORRENT_BYTES = 64 * 1024 * 1024;

export interface FileEntry {
  /** Path components under the torrent's name (for a single-file torrent: `[]`). */
  path: string[];
  length: number;
  /** Offset of the file's first byte in the torrent's byte stream. */
  offset: number;
  /** BEP 47 pad file: occupies the byte stream, never written to disk. */
  pad: boolean;
}

export interface Metainfo {
  infoHash: Buffer;
  infoHashHex: string;
  announce: string | undefined;
  /** BEP 12 tiers; empty when absent. */
  announceList: string[][];
  /** BEP 19 web seeds; empty when absent. */
  urlList: string[];
  name: string;
  pieceLength: number;
  pieceCount: number;
  /** Concatenated 20-byte SHA-1 hashes, one per piece. */
  pieces: Buffer;
  /** Total length of the byte stream (sum of all files, pad files included). */
  length: number;
  multiFile: boolean;
  files: FileEntry[];
  private: boolean;
  /** The exact bytes of the `info` dictionary. */
  rawInfo: Buffer;
}

export class MetainfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetainfoError';
  }
}

// ignoreBOM: a leading U+FEFF is part of the name, as other clients read it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function text(v: BValue | undefined, what: string): string {
  if (!isBytes(v)) throw new MetainfoError(`${what} is missing or not a string`);
  try {
    return utf8.decode(v);
  } catch {
    throw new MetainfoError(`${what} is not valid UTF-8`);
  }
}

function nonNegativeInt(v: BValue | undefined, what: string): number {
  if (!isInt(v)) throw new MetainfoError(`${what} is missing or not an integer`);
  if (v < 0) throw new MetainfoError(`${what} is negative`);
  return v;
}

function optionalText(v: BValue | undefined): string | undefined {
  if (!isBytes(v)) return undefined;
  try {
    return utf8.decode(v);
  } catch {
    return undefined;
  }
}

function checkComponent(c: string, what: string): void {
  const why = unsafeComponentReason(c);
  if (why) throw new MetainfoError(`${what} ${JSON.stringify(c)} ${why}`);
}

export function parseMetainfo(input: Uint8Array): Metainfo {
  if (input.byteLength > MAX_TORRENT_BYTES) throw new MetainfoError('torrent file is too large');
  let top: BValue;
  let spans;
  try {
    ({ value: top, spans } = decodeWithSpans(input));
  } catch (e) {
    if (e instanceof BencodeError) throw new MetainfoError(`not a torrent file (${e.message})`);
    throw e;
  }
  if (!isDict(top)) throw new MetainfoError('not a torrent file (top level is not a dictionary)');
  const info = top['info'];
  const span = spans.get('info');
  if (!isDict(info) || !span) throw new MetainfoError('not a torrent file (no info dictionary)');
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const rawInfo = Buffer.from(buf.subarray(span.start, span.end));
  const infoHash = createHash('sha1').update(rawInfo).digest();

  const name = text(info['name'], 'info.name');
  checkComponent(name, 'info.name');

  const pieceLength = nonNegativeInt(info['piece length'], 'info.piece length');
  if (pieceLength === 0) throw new MetainfoError('info.piece length is zero');
  if (pieceLength > MAX_PIECE_LENGTH) throw new MetainfoError(`info.piece length ${pieceLength} is larger than ${MAX_PIECE_LENGTH}`);

  const piecesValue = info['pieces'];
  if (!isBytes(piecesValue)) {
    if (info['meta version'] === 2 || isDict(info['file tree'])) {
      throw new MetainfoError('v2-only torrent (BEP 52, no "pieces") is not supported');
    }
    throw new MetainfoError('info.pieces is missing or not a string');
  }
  if (piecesValue.length % 20 !== 0) throw new MetainfoError('info.pieces length is not a multiple of 20');

  const { files, multiFile } = parseFiles(info);
  const length = files.reduce((sum, f) => sum + f.length, 0);
  if (!Number.isSafeInteger(length)) throw new MetainfoError('total length is too large');
  if (length === 0) throw new MetainfoError('torrent holds no data (total length 0)');
  const pieceCount = piecesValue.length / 20;
  const expected = Math.ceil(length / pieceLength);
  if (pieceCount !== expected) {
    throw new MetainfoError(`info.pieces holds ${pieceCount} hashes but the length needs ${expected}`);
  }

  const announce = optionalText(top['announce']);
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    announce,
    announceList: parseAnnounceList(top['announce-list']),
    urlList: parseUrlList(top['url-list']),
    name,
    pieceLength,
    pieceCount,
    pieces: Buffer.from(piecesValue),
    length,
    multiFile,
    files,
    private: info['private'] === 1,
    rawInfo,
  };
}

function parseFiles(info: BDict): { files: FileEntry[]; multiFile: boolean } {
  const list = info['files'];
  if (list === undefined) {
    return { files: [{ path: [], length: nonNegativeInt(info['length'], 'info.length'), offset: 0, pad: false }], multiFile: false };
  }
  if (info['length'] !== undefined) throw new MetainfoError('info has both "length" and "files"');
  if (!isList(list) || list.length === 0) throw new MetainfoError('info.files is not a non-empty list');
  const files: FileEntry[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const [i, f] of list.entries()) {
    if (!isDict(f)) throw new MetainfoError(`info.files[${i}] is not a dictionary`);
    const length = nonNegativeInt(f['length'], `info.files[${i}].length`);
    const p = f['path'];
    if (!isList(p) || p.length === 0) throw new MetainfoError(`info.files[${i}].path is not a non-empty list`);
    const path = p.map((c, j) => text(c, `info.files[${i}].path[${j}]`));
    for (const c of path) checkComponent(c, `info.files[${i}].path element`);
    const attr = optionalText(f['attr']) ?? '';
    const pad = attr.includes('p');
    if (!pad) {
      // A file may neither repeat another nor sit where another needs a folder (a/b and a/b/c).
      const key = path.join('/');
      if (seen.has(key)) throw new MetainfoError(`info.files has the path ${JSON.stringify(key)} twice`);
      seen.add(key);
    }
    files.push({ path, length, offset, pad });
    offset += length;
    if (!Number.isSafeInteger(offset)) throw new MetainfoError('total length is too large');
  }
  for (const key of seen) {
    const parts = key.split('/');
    for (let k = 1; k < parts.length; k++) {
      const folder = parts.slice(0, k).join('/');
      if (seen.has(folder)) throw new MetainfoError(`info.files has a file ${JSON.stringify(folder)} that is also a folder`);
    }
  }
  return { files, multiFile: true };
}

function parseAnnounceList(v: BValue | undefined): string[][] {
  if (!isList(v)) return [];
  const tiers: string[][] = [];
  for (const tier of v) {
    if (!isList(tier)) continue;
    const urls = tier.map(optionalText).filter((u): u is string => !!u);
    if (urls.length) tiers.push(urls);
  }
  return tiers;
}

function parseUrlList(v: BValue | undefined): string[] {
  if (isBytes(v)) {
    const u = optionalText(v);
    return u ? [u] : [];
  }
  if (!isList(v)) return [];
  return v.map(optionalText).filter((u): u is string => !!u);
}

/** Size of piece `index` (the last one may be short). */
export function pieceSize(m: Pick<Metainfo, 'pieceLength' | 'length'>, index: number): number {
  return Math.min(m.pieceLength, m.length - index * m.pieceLength);
}

/** The expected SHA-1 of piece `index`. */
export function pieceHash(m: Pick<Metainfo, 'pieces'>, index: number): Buffer {
  return m.pieces.subarray(index * 20, index * 20 + 20);
}
