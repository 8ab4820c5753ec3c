/**
 * Messages written to a peer during one turn of the event loop leave together: the first write
 * corks the socket and the end of the turn uncorks it, so a burst (the block requests a batch of
 * arriving pieces frees, a HAVE to every peer) is one writev instead of one syscall per
 * 17-byte message. Profiled, those syscalls were the requester's largest cost after the copies.
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
