/**
 * SHA-1 of every piece of a byte stream laid over files (one file or a folder's files in order),
 * in parallel worker threads for large inputs. Memory: one read buffer per thread.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { spansOf, type StorageFile } from '../storage/layout.ts';

export interface HashJob {
  files: StorageFile[];
  pieceLength: number;
  /** Total length of the byte stream. */
  length: number;
  firstPiece: number;
  /** One past the last piece. */
  endPiece: number;
}

const CHUNK = 8 * 1024 * 1024;
/** Below this, worker start-up costs more than it saves. */
const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;

/** Hash pieces [firstPiece, endPiece) on this thread. Returns their concatenated SHA-1s. */
export async function hashPieceRange(job: HashJob): Promise<Buffer> {
  const { files, pieceLength, length, firstPiece, endPiece } = job;
  const out = Buffer.allocUnsafe((endPiece - firstPiece) * 20);
  // Read whole pieces per chunk, at least one piece per read.
  const perChunk = Math.max(1, Math.floor(CHUNK / pieceLength));
  const buf = Buffer.allocUnsafe(Math.min(perChunk * pieceLength, length));
  const handles = new Map<number, FileHandle>();
  try {
    for (let p = firstPiece; p < endPiece; p += perChunk) {
      const start = p * pieceLength;
      const end = Math.min(length, Math.min(endPiece, p + perChunk) * pieceLength);
      let at = 0;
      for (const s of spansOf(files, start, end - start)) {
        const path = files[s.file]!.path;
        if (path === null) {
          buf.fill(0, at, at + s.length); // a pad file
          at += s.length;
          continue;
        }
        let h = handles.get(s.file);
        if (!h) handles.set(s.file, (h = await open(path, 'r')));
        for (let done = 0; done < s.length; ) {
          const { bytesRead } = await h.read(buf, at + done, s.length - done, s.fileOffset + done);
          if (bytesRead === 0) throw new Error(`${path} is shorter than expected (changed while hashing?)`);
          done += bytesRead;
        }
        at += s.length;
      }
      for (let q = p, off = 0; off < at; q++, off += pieceLength) {
        createHash('sha1')
          .update(buf.subarray(off, Math.min(at, off + pieceLength)))
          .digest()
          .copy(out, (q - firstPiece) * 20);
      }
    }
  } finally {
    await Promise.all([...handles.values()].map((h) => h.close()));
  }
  return out;
}

function inWorker(job: HashJob): Promise<Buffer> {
  // Compiled: hash-worker.js beside this file. Under tsx (tests, tools) the worker is the .ts
  // source, so it first registers tsx's loader in its own thread.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(new URL('./hash-worker.ts', import.meta.url).href)}); });`,
        { eval: true, workerData: job },
      )
    : new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { ok: true; hashes: Uint8Array } | { ok: false; error: string }) => {
      void worker.terminate();
      if (m.ok) resolve(Buffer.from(m.hashes.buffer, m.hashes.byteOffset, m.hashes.byteLength));
      else reject(new Error(m.error));
    });
    worker.once('error', reject);
  });
}

/** SHA-1 of every piece, split over up to `threads` worker threads when the data is large. */
export async function hashPieces(files: StorageFile[], pieceLength: number, threads = Math.min(4, availableParallelism())): Promise<Buffer> {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`invalid piece length ${pieceLength}`);
  const length = files.reduce((s, f) => s + f.length, 0);
  const pieceCount = Math.ceil(length / pieceLength);
  const base = { files, pieceLength, length };
  if (threads < 2 || length < PARALLEL_MIN_BYTES) return hashPieceRange({ ...base, firstPiece: 0, endPiece: pieceCount });
  const per = Math.ceil(pieceCount / threads);
  const jobs: Promise<Buffer>[] = [];
  for (let first = 0; first < pieceCount; first += per) jobs.push(inWorker({ ...base, firstPiece: first, endPiece: Math.min(pieceCount, first + per) }));
  return Buffer.concat(await Promise.all(jobs));
}
