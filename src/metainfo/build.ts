/**
 * The pure half of making a `.torrent` (BEP 3): piece length rules and the encoder. The info
 * dictionary holds exactly the keys mktorrent writes (`length` or `files`, `name`,
 * `piece length`, `pieces`), so the info_hash equals mktorrent's for the same data and piece
 * length.
 */
import { createHash } from 'node:crypto';
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

/** The info_hash (hex) the encoded torrent will have. */
export function infoHashHexOf(t: TorrentSpec): string {
  return createHash('sha1').update(encode(infoDict(t))).digest('hex');
}
