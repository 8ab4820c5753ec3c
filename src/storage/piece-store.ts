/**
 * The torrent's byte stream on disk: positional reads and writes across the files of a layout.
 * Offsets are plain numbers (exact up to 2^53), so data past 4 GiB works.
 */
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { spansOf, type StorageFile } from './layout.ts';
import { DiskWriter, isShared } from './disk-writer.ts';
import { openForUpdate, renameNoReplace } from './no-follow.ts';
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.ts';

export class PieceStore {
  private constructor(
    readonly files: readonly StorageFile[],
    private readonly handles: (FileHandle | null)[],
    readonly length: number,
    /** This store's handle on the process's writer thread (off the event loop); writing stores only. */
    private readonly writer: DiskWriter | null = null,
  ) {}

  /** Open existing data read-only; every file must be at least as long as the torrent says. */
  static async openForReading(files: readonly StorageFile[]): Promise<PieceStore> {
    const handles: (FileHandle | null)[] = [];
    try {
      for (const f of files) {
        if (f.path === null) {
          handles.push(null);
          continue;
        }
        const h = await open(f.path, 'r');
        handles.push(h);
        const st = await h.stat();
        if (!st.isFile()) throw new Error(`${f.path} is not a regular file`);
        if (st.size < f.length) throw new Error(`${f.path} is ${st.size} bytes, the torrent says ${f.length}`);
      }
    } catch (e) {
      await Promise.all(handles.map((h) => h?.close()));
      throw e;
    }
    return new PieceStore(files, handles, total(files));
  }

  /**
   * Open for writing: create folders and files as needed, keep existing bytes (resume), and set
   * each file to its exact length (sparse where the file system allows). Never through a link
   * below each file's root (no-follow.ts): one there is an UnsafeEntryError.
   */
  static async openForWriting(files: readonly StorageFile[]): Promise<PieceStore> {
    const handles: (FileHandle | null)[] = [];
    const checked = new Set<string>(); // folders already created or checked
    try {
      for (const f of files) {
        if (f.path === null) {
          handles.push(null);
          continue;
        }
        const root = f.root ?? path.dirname(f.path);
        if (!checked.has(root)) await mkdir(root, { recursive: true }); // the user's folder: may itself be a link
        checked.add(root);
        const h = await openForUpdate(root, f.path, checked); // below it, never through a link
        handles.push(h);
        if ((await h.stat()).size !== f.length) await h.truncate(f.length);
      }
    } catch (e) {
      await Promise.all(handles.map((h) => h?.close()));
      throw e;
    }
    return new PieceStore(files, handles, total(files), new DiskWriter());
  }

  private closed = false;

  /** Read [offset, offset + length) of the byte stream into `into` (or a new buffer). */
  async read(offset: number, length: number, into: Buffer = Buffer.allocUnsafe(length)): Promise<Buffer> {
    this.checkOpen();
    let at = 0;
    for (const s of spansOf(this.files, offset, length)) {
      const h = this.handles[s.file];
      if (!h) {
        into.fill(0, at, at + s.length); // pad file
      } else {
        let done = 0;
        while (done < s.length) {
          const { bytesRead } = await h.read(into, at + done, s.length - done, s.fileOffset + done);
          if (bytesRead === 0) throw new Error(`unexpected end of ${this.files[s.file]!.path}`);
          done += bytesRead;
        }
      }
      at += s.length;
    }
    return into;
  }

  /**
   * Write `data` at `offset` of the byte stream (pad-file parts are skipped), from the
   * DiskWriter's thread. The piece pool's buffers are shared memory and go without a copy; any
   * other buffer is copied into shared memory first.
   */
  async write(offset: number, data: Buffer): Promise<void> {
    this.checkOpen();
    const writer = this.writer;
    if (!writer) throw new Error('piece store is open for reading only');
    const shared = isShared(data) ? data : toShared(data);
    const parts: Promise<void>[] = [];
    let at = 0;
    for (const s of spansOf(this.files, offset, shared.length)) {
      const h = this.handles[s.file];
      if (h) parts.push(writer.write(h.fd, shared.subarray(at, at + s.length), s.fileOffset));
      at += s.length;
    }
    await Promise.all(parts);
  }

  /** fsync every file. */
  async sync(): Promise<void> {
    await Promise.all(this.handles.map((h) => h?.sync()));
  }

  async close(): Promise<void> {
    this.closed = true;
    // The writer's thread writes to these descriptors: they stay open until its writes are done.
    await this.writer?.close();
    await Promise.all(this.handles.map((h) => h?.close()));
    this.handles.fill(null);
  }

  /** A closed store's handles are gone: without this, reads would look like pad files (zeros). */
  private checkOpen(): void {
    if (this.closed) throw new Error('piece store is closed');
  }
}

function toShared(data: Buffer): Buffer {
  const copy = Buffer.from(new SharedArrayBuffer(data.length));
  data.copy(copy);
  return copy;
}

function total(files: readonly StorageFile[]): number {
  return files.reduce((s, f) => s + f.length, 0);
}

/** Does piece `index` on disk match its SHA-1? Reads in bounded chunks. */
export async function verifyPiece(store: PieceStore, meta: Metainfo, index: number, scratch?: Buffer): Promise<boolean> {
  const size = pieceSize(meta, index);
  const chunk = Math.min(size, 4 * 1024 * 1024);
  const buf = scratch && scratch.length >= chunk ? scratch : Buffer.allocUnsafe(chunk);
  const hash = createHash('sha1');
  const start = index * meta.pieceLength;
  for (let done = 0; done < size; ) {
    const n = Math.min(chunk, size - done);
    await store.read(start + done, n, buf.subarray(0, n));
    hash.update(buf.subarray(0, n));
    done += n;
  }
  return hash.digest().equals(pieceHash(meta, index));
}

/**
 * Move a finished download to its final name and make the rename durable (fsync the folder).
 * Whatever has appeared at the final name (a link, a file) is never replaced: an error instead.
 */
export async function renameDurably(from: string, to: string): Promise<void> {
  await renameNoReplace(from, to);
  const dir = await open(path.dirname(to), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
