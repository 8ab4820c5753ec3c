/**
 * Worker thread: SHA-1 of a run of pieces of a byte stream laid over files. Reads in large
 * chunks with positional reads (no stream machinery), so two workers on two cores hash about
 * twice as fast as one thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hashPieceRange, type HashJob } from './piece-hashing.ts';

const job = workerData as HashJob;
hashPieceRange(job).then(
  (hashes) => parentPort!.postMessage({ ok: true, hashes }, [hashes.buffer as ArrayBuffer]),
  (e: Error) => parentPort!.postMessage({ ok: false, error: e.message }),
);
