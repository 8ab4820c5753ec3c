/**
 * Making a BEP 3 `.torrent`: choose a piece length, hash the data as a stream, encode.
 * The info dictionary holds exactly `length`, `name`, `piece length`, `pieces` (single file), as
 * mktorrent writes it, so the info_hash equals mktorrent's for the same file and piece length.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { encode } from './bencode.ts';
import { MAX_PIECE_LENGTH } from './metainfo.ts';

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

/**
 * SHA-1 of every piece of `path`, read as a stream: memory stays at one read buffer whatever
 * the file or piece size. Returns the concatenated hashes and the number of bytes read.
 */
export async function hashFilePieces(path: string, pieceLength: number): Promise<{ pieces: Buffer; length: number }> {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`invalid piece length ${pieceLength}`);
  const hashes: Buffer[] = [];
  let hash: Hash = createHash('sha1');
  let inPiece = 0;
  let length = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(pieceLength - inPiece, chunk.length - at);
      hash.update(chunk.subarray(at, at + take));
      at += take;
      inPiece += take;
      if (inPiece === pieceLength) {
        hashes.push(hash.digest());
        hash = createHash('sha1');
        inPiece = 0;
      }
    }
    length += chunk.length;
  }
  if (inPiece > 0) hashes.push(hash.digest());
  return { pieces: Buffer.concat(hashes), length };
}

export interface SingleFileTorrent {
  announce: string;
  name: string;
  length: number;
  pieceLength: number;
  pieces: Buffer;
  urlList?: string[];
  createdBy?: string;
  /** Seconds since the epoch. */
  creationDate?: number;
}

/** Encode a single-file metainfo. Keys outside `info` do not change the info_hash. */
export function encodeSingleFileTorrent(t: SingleFileTorrent): Buffer {
  return encode({
    announce: t.announce,
    'created by': t.createdBy,
    'creation date': t.creationDate,
    'url-list': t.urlList && t.urlList.length ? t.urlList : undefined,
    info: {
      length: t.length,
      name: t.name,
      'piece length': t.pieceLength,
      pieces: t.pieces,
    },
  });
}

/** Hash `path` and build its single-file `.torrent` bytes. */
export async function makeSingleFileTorrent(
  path: string,
  name: string,
  opts: { announce: string; pieceLength?: number; urlList?: string[] },
): Promise<Buffer> {
  const size = (await stat(path)).size;
  const pieceLength = opts.pieceLength ?? choosePieceLength(size);
  const { pieces, length } = await hashFilePieces(path, pieceLength);
  if (length !== size) throw new Error(`${path} changed while it was being hashed`);
  return encodeSingleFileTorrent({
    announce: opts.announce,
    name,
    length,
    pieceLength,
    pieces,
    urlList: opts.urlList,
    createdBy: 'p2p-bittorrent 0.1.0',
    creationDate: Math.floor(Date.now() / 1000),
  });
}
