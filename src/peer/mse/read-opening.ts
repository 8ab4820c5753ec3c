/**
 * The sniffer's read: enough of a connection's first bytes to classify it, within a deadline.
 * Usually the first chunk decides; a client that sends its first bytes in pieces costs at most
 * a few more reads (a decision never needs more than 20 bytes).
 */
import type { PeerSocket } from '../wire/peer-socket.ts';
import { classifyOpening, type Opening } from './classify.ts';
import { MseError } from './policy.ts';

export const OPENING_TIMEOUT_MS = 10_000;

/** Resolve with the kind and every byte read so far (socket paused); MseError on close or deadline. */
export function readOpening(socket: PeerSocket, first: Buffer = Buffer.alloc(0), timeoutMs = OPENING_TIMEOUT_MS): Promise<{ kind: Exclude<Opening, 'more'>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let bytes = first;
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      socket.pause();
      if (err) return reject(err);
      resolve({ kind: classifyOpening(bytes) as Exclude<Opening, 'more'>, bytes });
    };
    const onData = (c: Buffer) => {
      bytes = bytes.length === 0 ? c : Buffer.concat([bytes, c]);
      if (classifyOpening(bytes) !== 'more') finish(null);
    };
    const onClose = () => finish(new MseError('connection closed before its opening could be classified'));
    const timer = setTimeout(() => finish(new MseError(`opening not classified within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('end', onClose);
    if (classifyOpening(bytes) !== 'more') return finish(null);
    if (socket.destroyed) return onClose();
    socket.resume();
  });
}
