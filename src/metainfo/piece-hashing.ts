/**
 * SHA-1 of every piece of a byte stream laid over files (one file or a folder's files in order).
 * Large inputs are hashed by the main thread and worker threads together: every thread takes
 * batches of pieces from one shared counter, reads them itself into its own ~1 MiB buffer and
 * writes the digests into a shared array (hash-core.ts). The main thread starts hashing at
 * once, so the workers' start-up costs no idle time. Memory: one small buffer per
 * thread, whatever the size of the data.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';
import { CONTROL_SLOTS, DONE, FAILED, READ_BYTES, batchCount, PieceHasher, type HashJob } from './hash-core.ts';
import type { StorageFile } from '../storage/spans.ts';

/** Below this, worker start-up costs more than it saves. */
const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;
/** Batches (~1 MiB each) the main thread hashes between two turns of the event loop. */
const MAIN_SLICE_BATCHES = 32;

export interface HashOptions {
  /** Threads that hash, the main thread included (default: one per core, at most 8). */
  threads?: number;
  /** Data shorter than this is hashed on the main thread alone (default 64 MiB). */
  parallelMinBytes?: number;
}

/** SHA-1 of every piece (concatenated). */
export async function hashPieces(files: StorageFile[], pieceLength: number, opts: HashOptions = {}): Promise<Buffer> {
  const threads = opts.threads ?? Math.min(8, availableParallelism());
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`invalid piece length ${pieceLength}`);
  const length = files.reduce((s, f) => s + f.length, 0);
  const pieceCount = Math.ceil(length / pieceLength);
  const job: HashJob = {
    files: files.map((f) => ({ path: f.path, length: f.length, offset: f.offset })),
    pieceLength,
    length,
    pieceCount,
    batchPieces: Math.max(1, Math.floor(READ_BYTES / pieceLength)),
    digests: new SharedArrayBuffer(pieceCount * 20),
    control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
  };
  const control = new Int32Array(job.control);
  const workers: Worker[] = [];
  // Settles when the workers are done: resolves once every batch is written, rejects on the
  // first worker failure.
  let finished: Promise<void> = Promise.resolve();
  if (threads >= 2 && length >= (opts.parallelMinBytes ?? PARALLEL_MIN_BYTES)) {
    finished = new Promise<void>((resolve, reject) => {
      let reported = 0;
      const fail = (e: Error) => {
        Atomics.store(control, FAILED, 1);
        reject(e);
      };
      for (let i = 0; i < threads - 1; i++) {
        const w = startWorker(import.meta.url, 'hash-worker', job);
        workers.push(w);
        let done = false;
        w.on('message', (m: { ok: true; all: boolean } | { ok: false; error: string }) => {
          if (!m.ok) return fail(new Error(m.error));
          done = true;
          reported++;
          if (m.all || reported === workers.length) resolve();
        });
        w.on('error', fail);
        w.on('exit', (code) => done || fail(new Error(`hash worker exited (code ${code}) before finishing`)));
      }
    });
    finished.catch(() => {}); // handled below; the main thread may still be hashing
  }
  const hasher = new PieceHasher(job);
  try {
    // The main thread hashes too, in slices, so that the event loop (and the workers' error
    // messages) still get a turn every ~20 ms.
    while (!hasher.run(MAIN_SLICE_BATCHES)) await new Promise((r) => setImmediate(r));
    if (Atomics.load(control, DONE) !== batchCount(job)) await finished;
    if (Atomics.load(control, DONE) !== batchCount(job)) throw new Error('piece hashing stopped before the end');
  } finally {
    hasher.close();
    Atomics.store(control, FAILED, 1); // workers still starting find nothing to do
    for (const w of workers) {
      w.removeAllListeners('exit');
      void w.terminate();
    }
  }
  return Buffer.from(new Uint8Array(job.digests));
}
