/**
 * Where the torrent's byte stream lives on disk: a list of (path, length) files, even for a
 * single file, so that pieces spanning file boundaries need no special case. Pure.
 */
import path from 'node:path';
import type { Metainfo } from '../metainfo/metainfo.ts';
import { safeJoin } from './safe-path.ts';
import type { StorageFile } from './spans.ts';

export { spansOf, type FileSpan, type StorageFile } from './spans.ts';

/**
 * The base of a download's temporary names (`<base>.part`, `<base>.part.state`): the torrent's
 * name, or its info_hash when the name is too long for the suffixes (names stop at 255 bytes).
 */
export function partBaseName(meta: Pick<Metainfo, 'name' | 'infoHashHex'>): string {
  return Buffer.byteLength(meta.name + '.part.state') <= 255 ? meta.name : meta.infoHashHex;
}

/**
 * Files of `meta` under `dir`. The top-level name gets `suffix` (`.part` while downloading):
 * a single file `dir/name.part`, a multi-file torrent `dir/name.part/...`. `dir` is their root:
 * nothing below it is followed as a link when they are written.
 */
export function storageFiles(meta: Pick<Metainfo, 'name' | 'files' | 'multiFile'>, dir: string, suffix = ''): StorageFile[] {
  const top = meta.name + suffix;
  const root = path.resolve(dir);
  return meta.files.map((f) => ({
    path: f.pad ? null : safeJoin(dir, meta.multiFile ? [top, ...f.path] : [top]),
    length: f.length,
    offset: f.offset,
    root,
  }));
}

