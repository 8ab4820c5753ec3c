/**
 * Worker thread: hashes batches of pieces from the shared counter (see hash-core.ts) until none
 * are left, then reports. Imports only hash-core.ts (node: modules and the import-free
 * storage/spans.ts), so it starts fast.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DONE, PieceHasher, batchCount, type HashJob } from './hash-core.ts';

const job = workerData as HashJob;
const hasher = new PieceHasher(job);
try {
  hasher.run();
  hasher.close();
  // `all`: every batch's digests are written (this thread or another finished the last one).
  parentPort!.postMessage({ ok: true, all: Atomics.load(new Int32Array(job.control), DONE) === batchCount(job) });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
