/**
 * A byte stream laid over files, and which parts of which files a range of it covers. Pure and
 * import-free: the hash workers load it, and their start-up is on the clock.
 */

export interface StorageFile {
  /** Absolute path, or null for a BEP 47 pad file (zeros, never on disk). */
  path: string | null;
  length: number;
  /** Offset of the file's first byte in the torrent's byte stream. */
  offset: number;
  /**
   * The download folder `path` lies in: the folders below it are never followed as links when
   * the file is opened for writing (see no-follow.ts). Default: the file's own folder.
   */
  root?: string;
}

/** A contiguous part of one file. */
export interface FileSpan {
  file: number;
  fileOffset: number;
  length: number;
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
