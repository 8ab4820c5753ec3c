/**
 * The payload stream after an MSE handshake that selected RC4: a Duplex over the socket that
 * decrypts what arrives and encrypts what is written, with the socket's backpressure.
 */
import { Duplex } from 'node:stream';
import type { PeerSocket } from '../wire/peer-socket.ts';
import type { Rc4 } from './rc4.ts';

export class EncryptedStream extends Duplex implements PeerSocket {
  private peerEnded = false;
  private readonly onData = (chunk: Buffer) => {
    this.decrypt.inPlace(chunk); // a chunk read from the socket is ours to change
    if (!this.push(chunk)) this.socket.pause();
  };
  private readonly onEnd = () => {
    this.peerEnded = true;
    this.push(null);
  };
  /**
   * A socket error is passed on as this stream's error when someone listens for it; between two
   * owners (handshake reader, wire connection) nobody may, and an unheard 'error' would crash
   * the process for one bad peer, so it then closes the stream without one.
   */
  private readonly onError = (e: Error) => (this.listenerCount('error') > 0 ? this.destroy(e) : this.destroy());
  private readonly onClose = () => {
    // After a clean end, let the reader take what is buffered before closing (as a socket does).
    if (this.peerEnded && !this.readableEnded) this.once('end', () => this.destroy());
    else this.destroy();
  };

  constructor(
    private readonly socket: PeerSocket,
    private readonly encrypt: Rc4,
    private readonly decrypt: Rc4,
  ) {
    super({
      allowHalfOpen: false,
      writableHighWaterMark: socket.writableHighWaterMark,
      readableHighWaterMark: socket.readableHighWaterMark,
    });
    socket.pause(); // flows only when this stream is read (see _read)
    this.pause(); // like the socket after a plain handshake: the reader resumes once it listens
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    if (socket.destroyed) queueMicrotask(this.onClose);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay?.(noDelay);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }

  /** Encrypt into a copy: the caller's buffer may be shared (piece data from a pool). */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward(this.encrypt.copy(chunk), callback);
  }

  /** Corked writes become one encrypted buffer and one socket write. */
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const c of chunks) {
      this.encrypt.xorInto(c.chunk, out, at);
      at += c.chunk.length;
    }
    this.forward(out, callback);
  }

  /** Hand over to the socket; the next write waits for the socket to drain, so ours fills. */
  private forward(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback(new Error('socket closed'));
    if (this.socket.write(data)) return callback();
    this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.socket.on('error', () => {}); // detached: a late socket error must not go unhandled
    this.socket.destroy();
    callback(error);
  }
}
