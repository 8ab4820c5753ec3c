/**
 * Putting the shared data where the seeder serves it (`<seedDir>/<name>`, the report's layout)
 * without a second copy of its bytes: a hard link, else a reflink (copy-on-write clone), else the
 * original path is served where it is. `--copy` asks for a real copy (reflinked where possible).
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export type Placement = 'already there' | 'hard link' | 'reflink' | 'copy' | 'in place';

export interface PlacedData {
  /** The folder holding `<name>`, the root the seeder serves from. */
  root: string;
  how: Placement;
}

/** Place `src` as `<seedDir>/<name>`; `copy` forces a full copy (the old behaviour). */
export async function placeData(src: string, seedDir: string, name: string, copy: boolean): Promise<PlacedData> {
  await mkdir(seedDir, { recursive: true });
  const dest = path.join(seedDir, name);
  const same = await realpath(dest).then((p) => realpath(src).then((q) => p === q), () => false);
  if (same) return { root: seedDir, how: 'already there' };
  const isDir = (await stat(src)).isDirectory();
  if (copy) {
    await replaceWith(dest, (tmp) => (isDir ? eachFile(src, tmp, copyOrClone) : copyOrClone(src, tmp)));
    return { root: seedDir, how: 'copy' };
  }
  for (const how of ['hard link', 'reflink'] as const) {
    const one = how === 'hard link' ? linkFile : reflinkFile;
    try {
      await replaceWith(dest, (tmp) => (isDir ? eachFile(src, tmp, one) : one(src, tmp)));
      return { root: seedDir, how };
    } catch {
      // Another filesystem (EXDEV), or one without links or clones: try the next way.
    }
  }
  return { root: path.dirname(path.resolve(src)), how: 'in place' };
}

/** Build the new data under a temporary name beside `dest`, then swap it in: a failure leaves `dest` as it was. */
async function replaceWith(dest: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dest}.placing-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await build(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  // A fresh tree: files left from an earlier share of a changed folder must not be listed.
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
}

/** A hard link to the file a symlink points at (link(2) would link the symlink itself). */
async function linkFile(src: string, dest: string): Promise<void> {
  await link(await realpath(src), dest);
}

async function reflinkFile(src: string, dest: string): Promise<void> {
  await copyFile(src, dest, constants.COPYFILE_FICLONE_FORCE);
}

/** Recreate a folder's tree (symlinks followed, other non-regular files skipped), placing each file with `one`. */
async function eachFile(src: string, dest: string, one: (from: string, to: string) => Promise<void>): Promise<void> {
  const walking = new Set<string>();
  async function walk(from: string, to: string): Promise<void> {
    const real = await realpath(from);
    if (walking.has(real)) return; // a link back to a folder being walked
    walking.add(real);
    await mkdir(to, { recursive: true });
    for (const entry of await readdir(from)) {
      const child = path.join(from, entry);
      const st = await stat(child).catch(() => null);
      if (st?.isDirectory()) await walk(child, path.join(to, entry));
      else if (st?.isFile()) await one(child, path.join(to, entry));
    }
    walking.delete(real);
  }
  await walk(src, dest);
}

/** A copy, cloned where the filesystem can (the same bytes either way). */
function copyOrClone(src: string, dest: string): Promise<void> {
  return copyFile(src, dest, constants.COPYFILE_FICLONE);
}
