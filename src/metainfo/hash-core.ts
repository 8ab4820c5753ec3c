/**
 * The piece-hashing loop shared by the main thread and the hash workers. Imports only node:
 * modules and storage/spans.ts, so a worker that loads it starts fast.
 *
 * Every thread takes batches of pieces from one shared counter (Atomics.add: work stealing, so
 * threads that start late or run slow simply take fewer), reads each batch with positional
 * synchronous reads into its own small buffer and writes the SHA-1s into a shared array at
 * piece * 20. The buffer is about 1 MiB: read and hashed while it is still in the core's cache.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { spansOf, type StorageFile } from '../storage/spans.ts';

export interface HashJob {
  /** The byte stream hashed, laid over files (pad files are zeros, never read). */
  files: StorageFile[];
  pieceLength: number;
  /** Total length of the byte stream. */
  length: number;
  pieceCount: number;
  /** Pieces per batch (one counter step). */
  batchPieces: number;
  /** SHA-1s, pieceCount * 20 bytes. */
  digests: SharedArrayBuffer;
  /** Int32Array over CONTROL_SLOTS slots: NEXT, DONE, FAILED. */
  control: SharedArrayBuffer;
}

/** Next batch to claim. */
export const NEXT = 0;
/** Batches whose digests are written. */
export const DONE = 1;
/** Non-zero once any thread failed: the others stop claiming. */
export const FAILED = 2;
export const CONTROL_SLOTS = 3;

/** Bytes read per batch when pieces are small; large pieces are read in chunks of this size. */
export const READ_BYTES = 1024 * 1024;

export function batchCount(job: Pick<HashJob, 'pieceCount' | 'batchPieces'>): number {
  return Math.ceil(job.pieceCount / job.batchPieces);
}

/** Positional reads of [start, start + len) of the byte stream, one open file at a time. */
class StreamReader {
  private fd = -1;
  private fdFile = -1;

  constructor(private readonly files: StorageFile[]) {}

  read(buf: Buffer, at: number, start: number, len: number): void {
    let dest = at;
    for (const span of spansOf(this.files, start, len)) {
      const path = this.files[span.file]!.path;
      if (path === null) {
        buf.fill(0, dest, dest + span.length);
      } else {
        const fd = this.open(span.file, path);
        for (let done = 0; done < span.length; ) {
          const n = readSync(fd, buf, dest + done, span.length - done, span.fileOffset + done);
          if (n === 0) throw new Error(`${path} is shorter than expected (changed while hashing?)`);
          done += n;
        }
      }
      dest += span.length;
    }
  }

  private open(file: number, path: string): number {
    if (this.fdFile !== file) {
      this.close();
      this.fd = openSync(path, 'r');
      this.fdFile = file;
    }
    return this.fd;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.fdFile = -1;
  }
}

/**
 * One thread's hashing state: its read buffer and open file, kept across calls to run().
 */
export class PieceHasher {
  private readonly control: Int32Array;
  private readonly digests: Uint8Array;
  private readonly batches: number;
  private readonly reader: StreamReader;
  private readonly buf: Buffer;

  constructor(private readonly job: HashJob) {
    this.control = new Int32Array(job.control);
    this.digests = new Uint8Array(job.digests);
    this.batches = batchCount(job);
    this.reader = new StreamReader(job.files);
    const size = job.pieceLength > READ_BYTES ? READ_BYTES : job.batchPieces * job.pieceLength;
    this.buf = Buffer.allocUnsafe(Math.min(job.length, size));
  }

  /**
   * Hash batches from the shared counter until none are left (or another thread failed), or at
   * most `maxBatches`. Returns true when no batch is left to claim. Throws on a read error
   * after flagging FAILED, so the other threads stop too.
   */
  run(maxBatches = Infinity): boolean {
    const { pieceLength, length, pieceCount, batchPieces } = this.job;
    const { control, digests, batches, reader, buf } = this;
    try {
      for (let done = 0; done < maxBatches; done++) {
        if (Atomics.load(control, FAILED) !== 0) return true;
        const b = Atomics.add(control, NEXT, 1);
        if (b >= batches) return true;
        const first = b * batchPieces;
        const start = first * pieceLength;
        if (pieceLength > READ_BYTES) {
          // One piece per batch, streamed through the hash in READ_BYTES chunks.
          const stop = Math.min(length, start + pieceLength);
          const h = createHash('sha1');
          for (let pos = start; pos < stop; pos += READ_BYTES) {
            const n = Math.min(READ_BYTES, stop - pos);
            reader.read(buf, 0, pos, n);
            h.update(buf.subarray(0, n));
          }
          digests.set(h.digest(), first * 20);
        } else {
          const end = Math.min(pieceCount, first + batchPieces);
          const bytes = Math.min(length, end * pieceLength) - start;
          reader.read(buf, 0, start, bytes);
          for (let p = first, off = 0; p < end; p++, off += pieceLength) {
            digests.set(createHash('sha1').update(buf.subarray(off, Math.min(bytes, off + pieceLength))).digest(), p * 20);
          }
        }
        Atomics.add(control, DONE, 1);
      }
      return Atomics.load(control, NEXT) >= batches;
    } catch (e) {
      Atomics.store(control, FAILED, 1);
      this.close();
      throw e;
    }
  }

  close(): void {
    this.reader.close();
  }
}
