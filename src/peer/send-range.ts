/**
 * Write a byte range of a piece store as an HTTP body, in bounded chunks: memory per answer is
 * two chunks (the one being sent, the next read ahead from disk; ChunkPool decides their size)
 * whatever the answer's size, the next chunk is sent only once the previous one was taken by the
 * kernel (backpressure), upload budget is spent slice by slice as bytes are written (never
 * reserved for bytes not yet written), and a closed connection stops the answer at once.
 */
import type { ServerResponse } from 'node:http';
import type { PieceStore } from '../storage/piece-store.ts';
import type { ChunkPool } from './chunk-pool.ts';
import type { RateLimiter } from '../net/rate-limiter.ts';
import { RATE_SLICE } from '../net/rate-limiter.ts';
import type { Exchange } from './http-connections.ts';

export interface SendEnv {
  limiter?: RateLimiter;
  counter: { uploaded: number };
  chunks: ChunkPool;
}

const FLUSHED = Promise.resolve(true);

/** Writes of one answer: counts bytes as the kernel takes them, and tells the watchdog when the client owes us progress. */
class BodyWriter {
  /** Writes handed to the socket whose callback has not come yet. */
  private unflushed = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly ex: Exchange,
    private readonly env: SendEnv,
  ) {}

  /** Resolves true once all of `chunk` was taken by the kernel, false if the connection closed first. */
  async write(chunk: Buffer): Promise<boolean> {
    const { limiter } = this.env;
    if (!limiter) return this.writeRaw(chunk);
    let last = FLUSHED;
    for (let at = 0; at < chunk.length; at += RATE_SLICE) {
      const slice = chunk.subarray(at, Math.min(chunk.length, at + RATE_SLICE));
      if (!(await limiter.take(slice.length, this.ex.signal))) return false;
      last = this.writeRaw(slice);
    }
    return last;
  }

  private writeRaw(data: Buffer): Promise<boolean> {
    const { ex } = this;
    if (ex.signal.aborted) return Promise.resolve(false);
    if (this.unflushed++ === 0) ex.watchdog.waiting();
    return new Promise((resolve) => {
      const onClose = () => resolve(false);
      ex.signal.addEventListener('abort', onClose, { once: true });
      this.res.write(data, (err) => {
        ex.signal.removeEventListener('abort', onClose);
        if (--this.unflushed === 0) ex.watchdog.idle();
        else ex.watchdog.waiting(); // the client took something: the deadline restarts
        if (!err) this.env.counter.uploaded += data.length;
        resolve(!err);
      });
    });
  }
}

/** Send [offset, offset + length) of `store` as the body of `res` (headers already set) and end it. */
export async function sendRange(res: ServerResponse, store: PieceStore, offset: number, length: number, ex: Exchange, env: SendEnv): Promise<void> {
  ex.watchdog.idle(); // from here on the writer tells when the client is the one we wait for
  const writer = new BodyWriter(res, ex, env);
  const chunks = env.chunks.take(length);
  const bufs = chunks.bufs;
  const chunkSize = bufs[0]!.length;
  let previous = FLUSHED;
  let ok = true;
  try {
    for (let done = 0, k = 0; ok && done < length; k ^= bufs.length - 1) {
      const n = Math.min(chunkSize, length - done);
      // Read the next chunk while the previous one is still being sent, into the other buffer.
      const chunk = await store.read(offset + done, n, bufs[k]!.subarray(0, n));
      ok = (await previous) && !ex.signal.aborted;
      if (ok) previous = writer.write(chunk);
      done += n;
    }
    ok = ok && (await previous);
  } catch (e) {
    ok = false;
    throw e;
  } finally {
    env.chunks.give(chunks, ok);
  }
  if (ok) res.end();
}
