/**
 * Where the torrent's byte stream lives on disk: a list of (path, length) files, even for a
 * single file, so that pieces spanning file boundaries need no special case. Pure.
 */
import type { Metainfo } from '../metainfo/metainfo.ts';
import { safeJoin } from './safe-path.ts';

export interface StorageFile {
  /** Absolute path, or null for a BEP 47 pad file (zeros, never on disk). */
  path: string | null;
  length: number;
  /** Offset of the file's first byte in the torrent's byte stream. */
  offset: number;
}

/**
 * The base of a download's temporary names (`<base>.part`, `<base>.part.state`): the torrent's
 * name, or its info_hash when the name is too long for the suffixes (names stop at 255 bytes).
 */
export function partBaseName(meta: Pick<Metainfo, 'name' | 'infoHashHex'>): string {
  return Buffer.byteLength(meta.name + '.part.state') <= 255 ? meta.name : meta.infoHashHex;
}

/** A contiguous part of one file. */
export interface FileSpan {
  file: number;
  fileOffset: number;
  length: number;
}

/**
 * Files of `meta` under `dir`. The top-level name gets `suffix` (`.part` while downloading):
 * a single file `dir/name.part`, a multi-file torrent `dir/name.part/...`.
 */
export function storageFiles(meta: Pick<Metainfo, 'name' | 'files' | 'multiFile'>, dir: string, suffix = ''): StorageFile[] {
  const top = meta.name + suffix;
  return meta.files.map((f) => ({
    path: f.pad ? null : safeJoin(dir, meta.multiFile ? [top, ...f.path] : [top]),
    length: f.length,
    offset: f.offset,
  }));
}

/** The spans of [offset, offset + length) across `files` (sorted by offset). */
export function spansOf(files: readonly StorageFile[], offset: number, length: number): FileSpan[] {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`invalid range ${offset}+${length}`);
  }
  const spans: FileSpan[] = [];
  let pos = offset;
  const end = offset + length;
  // Binary search for the first file that ends after `offset`.
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const f = files[mid]!;
    if (f.offset + f.length <= offset) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < files.length && pos < end; i++) {
    const f = files[i]!;
    const fileEnd = f.offset + f.length;
    if (fileEnd <= pos) continue;
    const take = Math.min(end, fileEnd) - pos;
    spans.push({ file: i, fileOffset: pos - f.offset, length: take });
    pos += take;
  }
  if (pos !== end) throw new RangeError(`range ${offset}+${length} is outside the torrent`);
  return spans;
}
