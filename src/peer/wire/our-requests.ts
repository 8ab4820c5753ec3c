/**
 * Our block requests to one wire peer, as promises keyed by (piece, offset): a `piece` message
 * settles the matching one, an abort withdraws it (and sends a cancel), a choke or a close fails
 * them all.
 */
import type { Message } from './messages.ts';

interface Pending {
  length: number;
  resolve(b: Buffer): void;
  reject(e: Error): void;
}

export class OurRequests {
  private readonly pending = new Map<string, Pending>();

  /** `send` writes a message to the peer (the connection's). */
  constructor(private readonly send: (m: Message) => void) {}

  /**
   * Ask for a block (and cancel it if `signal` aborts first); resolves with exactly `length`
   * bytes. A second request for the same block replaces the first.
   */
  add(index: number, begin: number, length: number, signal: AbortSignal): Promise<Buffer> {
    const key = `${index}:${begin}`;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.pending.get(key) === entry) {
          this.pending.delete(key);
          this.send({ type: 'cancel', index, begin, length });
        }
        reject(new Error('request cancelled'));
      };
      const entry: Pending = {
        length,
        resolve: (b) => {
          signal.removeEventListener('abort', onAbort);
          resolve(b);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      if (signal.aborted) return reject(new Error('request cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.get(key)?.reject(new Error('request replaced'));
      this.pending.set(key, entry);
      this.send({ type: 'request', index, begin, length });
    });
  }

  /** A block arrived: settles its request and returns true; unrequested or cancelled: false. */
  deliver(index: number, begin: number, block: Buffer): boolean {
    const key = `${index}:${begin}`;
    const p = this.pending.get(key);
    if (!p || p.length !== block.length) return false;
    this.pending.delete(key);
    p.resolve(block);
    return true;
  }

  /** BEP 6: the peer rejected a request: fail it (not the source's fault: see ChokedError). */
  reject(index: number, begin: number, length: number, error: () => Error): void {
    const key = `${index}:${begin}`;
    const p = this.pending.get(key);
    if (!p || p.length !== length) return;
    this.pending.delete(key);
    p.reject(error());
  }

  /** Fail every request (the peer choked us, or the connection closed), but those of pieces `keep` names. */
  failAll(error: () => Error, keep: (piece: number) => boolean = () => false): void {
    for (const [key, p] of this.pending) {
      if (keep(Number(key.slice(0, key.indexOf(':'))))) continue;
      this.pending.delete(key);
      p.reject(error());
    }
  }
}
