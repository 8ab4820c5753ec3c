/**
 * The one-port sniffer: a connection's opening bytes say what it speaks (mse/classify.ts): a
 * plain BitTorrent handshake, HTTP, or an MSE Diffie-Hellman key. Decided within 20 bytes, which
 * every real client sends before it waits for an answer; a client that sends less is closed at
 * the deadline.
 */
import { classifyOpening, type Opening } from './mse/index.ts';
import type { PeerSocket } from './wire/peer-socket.ts';

export interface Sniffed {
  kind: Exclude<Opening, 'more'>;
  /** The bytes read so far (to hand on with the connection). */
  first: Buffer;
  /** When the first byte came (performance.now()): the handshake's deadline counts from it. */
  firstByteAt: number;
}

/**
 * Read until the opening is known; rejects on close, error or a deadline: `timeoutMs` for the
 * first byte, then `afterFirstByteMs` (a handshake's deadline). The socket is left paused.
 */
export function sniffOpening(socket: PeerSocket, timeoutMs: number, afterFirstByteMs = 10_000, onNotHttp?: () => void): Promise<Sniffed> {
  return new Promise((resolve, reject) => {
    let first: Buffer = Buffer.alloc(0);
    let firstByteAt = 0;
    const done = (err: Error | null, kind?: Sniffed['kind']) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve({ kind: kind!, first, firstByteAt });
    };
    const onData = (c: Buffer) => {
      if (first.length === 0) {
        firstByteAt = performance.now();
        // Every HTTP method starts with a capital letter: anything else is BitTorrent, plain or
        // MSE, from its first byte (so a client that stops after byte 19 holds a wire slot).
        if (!(c[0]! >= 0x41 && c[0]! <= 0x5a)) onNotHttp?.();
        clearTimeout(timer);
        timer = setTimeout(() => done(new Error('no handshake in time')), afterFirstByteMs);
        timer.unref();
      }
      first = first.length ? Buffer.concat([first, c]) : c;
      const kind = classifyOpening(first);
      if (kind !== 'more') done(null, kind);
    };
    const onClose = () => done(new Error('closed before it said what it speaks'));
    let timer = setTimeout(() => done(new Error('said nothing in time')), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    socket.resume();
  });
}
