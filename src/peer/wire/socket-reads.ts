/**
 * The reads of a wire connection. A TCP socket reads into one buffer that every wire connection
 * shares, instead of a fresh 64 KiB allocation per read that only the garbage collector frees
 * (profiled: most of the requester's GC time over the wire); MSE and uTP streams emit 'data' as
 * before. Safe because the parser consumes each read synchronously and copies what it keeps
 * (message-parser.ts); the shared buffer is never touched outside that call.
 */
import net from 'node:net';
import { readIntoUserBuffer } from '../../net/node-internals.ts';
import type { PeerSocket } from './peer-socket.ts';

/** Large enough for several 16 KiB blocks per read on a fast link. */
const READ_BUFFER_BYTES = 256 * 1024;
let shared: Buffer | undefined;

/** Call `onChunk` with every chunk `socket` reads; `onChunk` must not keep the chunk (nor a view of it). */
export function readChunks(socket: PeerSocket, onChunk: (chunk: Buffer) => void): void {
  // Chunks the stream buffered before (after the handshake) come as 'data' events, first.
  socket.on('data', onChunk);
  if (!(socket instanceof net.Socket)) return;
  shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  const switched = readIntoUserBuffer(socket, shared, (n, buf) => {
    onChunk(buf.subarray(0, n));
    return true;
  });
  // Reads into the buffer bypass a paused stream: stop them until the owner resumes the socket
  // (after the buffered chunks, which resume() emits first).
  if (switched) socket.pause();
}
