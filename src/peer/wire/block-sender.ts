/**
 * Serving a peer's queued block requests in batches. Profiled one block at a time (a 16 KiB
 * store.read, a header concatenated with the block, one socket write, a drain wait), the seeder
 * spent most of its CPU in per-block overhead. Here up to BATCH_BYTES of requests are taken at
 * once; each run of contiguous requests is one disk read; the batch's headers and blocks go to
 * the socket as one corked write (one writev, no copy of the blocks). The next batch is read
 * while the previous one is still being sent, so a connection holds at most two batch buffers.
 */
import type { Duplex } from 'node:stream';
import type { PieceStore } from '../../storage/piece-store.ts';
import type { RateLimiter } from '../../net/rate-limiter.ts';
import { RATE_SLICE } from '../../net/rate-limiter.ts';
import { BufferRecycler } from '../buffer-recycler.ts';
import { BLOCK_SIZE, Id } from './messages.ts';
import type { BlockRequest, RequestQueue } from './request-queue.ts';

/** Bytes of blocks per batch: 16 blocks, a disk read and a socket write each. */
export const BATCH_BYTES = 256 * 1024;
const PIECE_HEADER = 13;

/** Batch buffers for every connection of the process: a few are kept for reuse, the rest collected. */
const buffers = new BufferRecycler(16);

/** What the sender needs of its connection. */
export interface BatchLink {
  readonly socket: Duplex;
  readonly closed: boolean;
}

export interface BatchEnv {
  store: PieceStore;
  pieceLength: number;
  limiter?: RateLimiter;
  /** Aborts when the connection closes: withdraws a wait for upload budget. */
  signal: AbortSignal;
  /** Bytes of blocks handed to the socket (counted as they are written). */
  sent(bytes: number): void;
  /** Bytes wait on the peer (true) or nothing does (false): drives the send watchdog. */
  waiting(yes: boolean): void;
  /** May this request be served now (BEP 3: not while we choke; BEP 6: allowed-fast pieces may)? */
  allowed(r: BlockRequest): boolean;
  /** A request taken from the queue that will not be sent (we choked, or the connection closed). */
  dropped?(r: BlockRequest): void;
}

/** Take up to `max` bytes of requests (of at most BLOCK_SIZE each) from the head of the queue. */
export function takeBatch(queue: RequestQueue, max: number): BlockRequest[] {
  const batch: BlockRequest[] = [];
  let bytes = 0;
  while (queue.size > 0 && bytes + BLOCK_SIZE <= max) {
    const r = queue.shift();
    if (!r) break;
    batch.push(r);
    bytes += r.length;
  }
  return batch;
}

/** Runs of requests contiguous in the torrent's byte stream: [first index in batch, end index, offset, bytes]. */
export function contiguousRuns(batch: readonly BlockRequest[], pieceLength: number): Array<{ from: number; to: number; offset: number; length: number }> {
  const runs: Array<{ from: number; to: number; offset: number; length: number }> = [];
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    const offset = r.index * pieceLength + r.begin;
    const last = runs.at(-1);
    if (last && last.offset + last.length === offset) {
      last.to = i + 1;
      last.length += r.length;
    } else {
      runs.push({ from: i, to: i + 1, offset, length: r.length });
    }
  }
  return runs;
}

/** The 13-byte piece message headers of a batch, in one buffer. */
export function pieceHeaders(batch: readonly BlockRequest[]): Buffer {
  const h = Buffer.allocUnsafe(PIECE_HEADER * batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    const at = i * PIECE_HEADER;
    h.writeUInt32BE(9 + r.length, at);
    h[at + 4] = Id.Piece;
    h.writeUInt32BE(r.index, at + 5);
    h.writeUInt32BE(r.begin, at + 9);
  }
  return h;
}

/** Read every block of `batch` into `buf` (in batch order), one store read per contiguous run. */
async function readBatch(env: BatchEnv, batch: readonly BlockRequest[], buf: Buffer): Promise<void> {
  const runs = contiguousRuns(batch, env.pieceLength);
  let at = 0;
  const reads: Promise<Buffer>[] = [];
  for (const run of runs) {
    reads.push(env.store.read(run.offset, run.length, buf.subarray(at, at + run.length)));
    at += run.length;
  }
  await Promise.all(reads);
}

/**
 * Write a batch as one corked write; resolves once the socket has taken all of it (its last
 * write's callback), or at once when the connection closes. `true` if it was taken.
 */
function writeBatch(socket: Duplex, batch: readonly BlockRequest[], buf: Buffer, signal: AbortSignal): Promise<boolean> {
  const headers = pieceHeaders(batch);
  return new Promise((resolve) => {
    const onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.cork();
    let at = 0;
    for (let i = 0; i < batch.length; i++) {
      const n = batch[i]!.length;
      socket.write(headers.subarray(i * PIECE_HEADER, (i + 1) * PIECE_HEADER));
      const last = i === batch.length - 1;
      socket.write(buf.subarray(at, at + n), last ? (err?: Error | null) => {
        signal.removeEventListener('abort', onAbort);
        resolve(!err);
      } : undefined);
      at += n;
    }
    socket.uncork();
  });
}

/**
 * Serve `queue` until it is empty, we choke the peer, or the connection closes. Requests taken
 * but not sent are handed to `env.dropped`. Throws what the store throws.
 */
export async function serveBatches(link: BatchLink, queue: RequestQueue, env: BatchEnv): Promise<void> {
  // With an upload cap, batches are one budget slice: the cap's unit of fairness between peers.
  const max = env.limiter ? Math.min(BATCH_BYTES, RATE_SLICE) : BATCH_BYTES;
  let previous: { done: Promise<boolean>; buf: Buffer } | undefined;
  let batch: BlockRequest[] = [];
  const drop = () => {
    for (const r of batch) env.dropped?.(r);
    batch = [];
  };
  // A choke came while the batch waited: what may still be served goes back in the queue.
  const blocked = () => batch.some((r) => !env.allowed(r));
  const sortOut = () => {
    for (const r of batch) if (env.allowed(r)) queue.push(r.index, r.begin, r.length);
    else env.dropped?.(r);
    batch = [];
  };
  const more = () => !link.closed && queue.size > 0;
  try {
    while (more()) {
      batch = takeBatch(queue, max);
      if (blocked()) {
        sortOut();
        continue;
      }
      const bytes = batch.reduce((s, r) => s + r.length, 0);
      if (env.limiter && !(await env.limiter.take(bytes, env.signal))) return drop();
      if (link.closed) return drop();
      const buf = buffers.take(BATCH_BYTES);
      await readBatch(env, batch, buf);
      // The previous batch must have left our hands before this one is queued behind it.
      if (previous && !(await settle(previous, env))) return drop();
      if (link.closed || blocked()) {
        buffers.give(buf);
        if (link.closed) return drop();
        sortOut();
        continue;
      }
      env.waiting(true);
      previous = { done: writeBatch(link.socket, batch, buf.subarray(0, bytes), env.signal), buf };
      env.sent(bytes);
      batch = [];
      // The last batch out: wait for it, then look again (requests that came meanwhile found us serving).
      if (!more() && (await settle(previous, env)) === true) previous = undefined;
    }
  } catch (e) {
    drop();
    throw e;
  }
}

/** Wait for a written batch to be taken; its buffer goes back for reuse only then. */
async function settle(p: { done: Promise<boolean>; buf: Buffer }, env: BatchEnv): Promise<boolean> {
  const taken = await p.done;
  env.waiting(false);
  // A batch cut short by a close may still be referenced by the socket: its buffer is dropped.
  if (taken) buffers.give(p.buf);
  return taken;
}
