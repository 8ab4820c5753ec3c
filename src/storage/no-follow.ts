/**
 * Writing inside a download folder without following symbolic links. Anyone who can write in
 * that folder could plant `<name>.part`, `<name>.part.state.tmp` or a sub-folder of a multi-file
 * torrent as a link to another file or folder; a plain open or mkdir follows it, and our data (or
 * a truncate) lands in that file. So: files are opened with O_NOFOLLOW (O_EXCL where they must
 * be new), folders below the download folder are checked with lstat, and a link is a clear error.
 * The download folder itself (chosen by the user) may be a link.
 *
 * Left open: a folder swapped for a link between our lstat and the open (Node has no openat).
 */
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/** A symbolic link (or other odd entry) where we were about to write. */
export class UnsafeEntryError extends Error {}

function isLinkError(e: unknown): boolean {
  // ELOOP: O_NOFOLLOW met a link; EMLINK is what some BSDs return instead.
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ELOOP' || code === 'EMLINK';
}

function linkRefused(p: string): UnsafeEntryError {
  return new UnsafeEntryError(`${p} is a symbolic link; refusing to write through it`);
}

/**
 * Create the folders from `root` (exclusive) down to `dir`, refusing any that is a link or not
 * a folder. `dir` must be inside `root`. Folders in `checked` are known good (and added to it):
 * the files of one torrent share their folders.
 */
export async function mkdirBelow(root: string, dir: string, checked = new Set<string>()): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel === '' || checked.has(dir)) return;
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UnsafeEntryError(`${dir} is not inside ${root}`);
  let at = root;
  for (const part of rel.split(path.sep)) {
    at = path.join(at, part);
    if (checked.has(at)) continue;
    await ensureFolder(at);
    checked.add(at);
  }
}

/** Create the folder `at`, or check that what is there is a folder and not a link. */
async function ensureFolder(at: string): Promise<void> {
  try {
    await mkdir(at);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = await lstat(at);
  if (st.isSymbolicLink()) throw linkRefused(at);
  if (!st.isDirectory()) throw new UnsafeEntryError(`${at} is not a folder`);
}

/**
 * Open `file` (inside `root`) for reading and writing, created if missing, never through a link:
 * the folders between are created and checked by mkdirBelow. The file must be a regular file with
 * no other name (a hard link would share our writes with another file).
 */
export async function openForUpdate(root: string, file: string, checked?: Set<string>): Promise<FileHandle> {
  await mkdirBelow(root, path.dirname(file), checked);
  let h: FileHandle;
  try {
    h = await open(file, O_RDWR | O_NOFOLLOW);
  } catch (e) {
    if (isLinkError(e)) throw linkRefused(file);
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    h = await createExclusive(file, O_RDWR);
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) throw new UnsafeEntryError(`${file} is not a regular file`);
    if (st.nlink > 1) throw new UnsafeEntryError(`${file} has other hard links; refusing to write to it`);
  } catch (e) {
    await h.close();
    throw e;
  }
  return h;
}

/** Create `file`, which must not exist (not even as a link); `flags` add the access mode. */
async function createExclusive(file: string, flags: number): Promise<FileHandle> {
  try {
    return await open(file, flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (e) {
    if (isLinkError(e)) throw linkRefused(file);
    throw e;
  }
}

/**
 * Create `file` afresh for writing: whatever entry has its name (a stale temp file, or a link
 * planted there) is removed first; unlink removes a link, never its target.
 */
export async function createFresh(file: string): Promise<FileHandle> {
  try {
    return await createExclusive(file, O_WRONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  await unlink(file);
  return createExclusive(file, O_WRONLY);
}

/**
 * The bytes of a small regular file, or null when it is missing, a link, not a regular file or
 * over `maxBytes`. O_NONBLOCK: a FIFO planted at the name must not hang the open.
 */
export async function readSmallFile(file: string, maxBytes: number): Promise<Buffer | null> {
  let h: FileHandle;
  try {
    h = await open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = await h.stat();
    if (!st.isFile() || st.size > maxBytes) return null;
    return await h.readFile();
  } finally {
    await h.close();
  }
}

/**
 * Rename `from` to `to`, never replacing an entry at `to` (a link planted there, or a file that
 * appeared meanwhile). A file is hard-linked then unlinked (link fails on an existing name); a
 * folder, or a file system without hard links, is checked with lstat just before the rename.
 */
export async function renameNoReplace(from: string, to: string): Promise<void> {
  if ((await lstat(from)).isFile() && (await linkNoReplace(from, to))) {
    await unlink(from);
    return;
  }
  if (await entryAt(to)) throw existsAt(to);
  await rename(from, to);
}

/** Hard-link `from` as `to`; false when the file system has no hard links. */
async function linkNoReplace(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw existsAt(to);
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return false;
    throw e;
  }
}

async function entryAt(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function existsAt(to: string): UnsafeEntryError {
  return new UnsafeEntryError(`${to} already exists (a file, folder or link); not replacing it`);
}
