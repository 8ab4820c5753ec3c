/**
 * The fetch of one piece from one source into one buffer: its blocks, `blocksPerPiece` requests
 * at a time (pipelining for the wire protocol), hashed as they arrive. Every byte of the buffer
 * comes from that one source, so a piece that fails its hash names its culprit exactly.
 */
import { createHash, type Hash } from 'node:crypto';
import type { PieceSource } from './source.ts';

/** What the fetch reports to: its controller (to cancel the other blocks) and its byte count (its rate). */
export interface FetchProgress {
  readonly controller: AbortController;
  received: number;
}

/** Fill `buf` with piece `piece` from `source`; resolves with the SHA-1 of the bytes received. */
export async function fetchPieceInto(source: PieceSource, piece: number, buf: Buffer, fetch: FetchProgress, isDone: () => boolean): Promise<Buffer> {
  const signal = fetch.controller.signal;
  const size = buf.length;
  // SHA-1 as the bytes arrive, while they are in the cache: bytes that land in order are
  // hashed at once, the rest (blocks that came out of order) after the last block.
  const hash = createHash('sha1');
  let hashed = 0;
  const arrived = (offset: number, length: number) => {
    fetch.received += length;
    if (offset !== hashed) return;
    hash.update(buf.subarray(offset, offset + length));
    hashed += length;
  };
  if (source.fetchPiece) {
    try {
      await source.fetchPiece(piece, buf, signal, arrived, isDone);
    } catch (e) {
      fetch.controller.abort();
      throw e;
    }
    return finish(hash, buf, hashed);
  }
  const blocks: Array<{ begin: number; length: number }> = [];
  for (let begin = 0; begin < size; begin += source.maxBlock) blocks.push({ begin, length: Math.min(source.maxBlock, size - begin) });
  let next = 0;
  const lane = async () => {
    while (next < blocks.length) {
      const { begin, length } = blocks[next++]!;
      await fetchBlock(source, piece, begin, buf.subarray(begin, begin + length), signal, arrived);
      if (isDone()) throw new Error('piece already done'); // another source won (endgame)
    }
  };
  const lanes = Array.from({ length: Math.min(blocks.length, Math.max(1, source.blocksPerPiece ?? 1)) }, lane);
  const results = await Promise.allSettled(lanes);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    fetch.controller.abort(); // cancel the other lanes' requests
    throw failed.reason;
  }
  return finish(hash, buf, hashed);
}

/** The SHA-1 of `buf`, of which the first `hashed` bytes went into `hash` already. */
function finish(hash: Hash, buf: Buffer, hashed: number): Buffer {
  if (hashed < buf.length) hash.update(buf.subarray(hashed));
  return hash.digest();
}

/**
 * One block into `into`: straight from the transport when it reads into a buffer, else copied
 * from the block it returns. `arrived` is told piece offsets.
 */
async function fetchBlock(source: PieceSource, piece: number, begin: number, into: Buffer, signal: AbortSignal, arrived: (offset: number, length: number) => void): Promise<void> {
  if (source.fetchBlockInto) {
    await source.fetchBlockInto(piece, begin, into, signal, (o, n) => arrived(begin + o, n));
    return;
  }
  if (!source.fetchBlock) throw new Error(`${source.label} has no way to fetch a block`);
  const length = into.length;
  const block = await source.fetchBlock(piece, begin, length, signal);
  if (block.length !== length) throw new Error(`sent ${block.length} bytes for a ${length}-byte block`);
  block.copy(into);
  arrived(begin, length);
}
