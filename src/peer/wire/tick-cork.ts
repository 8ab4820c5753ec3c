/**
 * Messages written to a peer during one turn of the event loop leave together: the first write
 * corks the socket and setImmediate (after every read of this poll phase) uncorks it, so a burst
 * (the block requests that arriving pieces free, a HAVE to every peer) is one writev instead of
 * one syscall per 17-byte message. Profiled, those syscalls were the requester's largest cost
 * after the copies; setImmediate batched more of them than process.nextTick.
 */
import type { Writable } from 'node:stream';

function uncork(socket: Writable): void {
  socket.uncork();
}

/** Cork `socket` until the end of this turn (no-op when it already is corked). */
export function corkForTick(socket: Writable): void {
  if (socket.writableCorked > 0 || socket.destroyed) return;
  socket.cork();
  setImmediate(uncork, socket);
}
