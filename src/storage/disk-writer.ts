/**
 * Writes a download's pieces from one worker thread, in 16 KiB synchronous writes straight from
 * the piece pool's shared memory: the event loop never waits on the disk, one handoff per piece.
 * Not fs.promises: large writes get page-cache folios that are slow to allocate, small ones cost
 * a threadpool round trip each (figures: bench/README.md, "Measurements behind the design").
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.ts';

export interface WriteRequest {
  id: number;
  fd: number;
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  position: number;
}
export type WriteReply = { id: number; error?: undefined } | { id: number; error: { message: string; code?: string } };

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Whether `data` can go through a DiskWriter (its memory is shared with the writer thread). */
export function isShared(data: Buffer): boolean {
  return data.buffer instanceof SharedArrayBuffer;
}

export class DiskWriter {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set when the thread failed or was closed: every later write is refused with it. */
  private stopped: Error | null = null;
  private idle: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  /**
   * Write all of `data` (SharedArrayBuffer-backed) at `position` of the open file `fd`. The caller
   * keeps `fd` open and `data` unchanged until the promise settles.
   */
  write(fd: number, data: Buffer, position: number): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (!isShared(data)) return Promise.reject(new TypeError('DiskWriter.write needs a SharedArrayBuffer-backed buffer'));
    const worker = this.start();
    const id = this.nextId++;
    const req: WriteRequest = { id, fd, buffer: data.buffer as SharedArrayBuffer, byteOffset: data.byteOffset, length: data.length, position };
    return new Promise<void>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref(); // a write in flight keeps the process alive
      this.pending.set(id, { resolve, reject });
      worker.postMessage(req);
    });
  }

  /** Wait for every write sent so far, then stop the thread. Later writes are refused. */
  close(): Promise<void> {
    return (this.closing ??= this.stop());
  }

  private async stop(): Promise<void> {
    this.stopped ??= new Error('disk writer closed');
    if (this.pending.size > 0) await new Promise<void>((r) => (this.idle = r));
    const w = this.worker;
    this.worker = null;
    if (w) {
      w.removeAllListeners();
      await w.terminate();
    }
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(import.meta.url, 'disk-writer-worker', null);
    w.on('message', (m: WriteReply) => this.settle(m));
    w.on('error', (e: Error) => this.fail(e));
    w.on('exit', (code) => this.fail(new Error(`disk writer thread exited (code ${code})`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private settle(m: WriteReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
    else p.resolve();
    if (this.pending.size === 0) this.drained();
  }

  /** The thread is gone: every write in flight fails, and so does every later one. */
  private fail(e: Error): void {
    this.stopped ??= e;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.drained();
  }

  private drained(): void {
    this.worker?.unref();
    const idle = this.idle;
    this.idle = null;
    idle?.();
  }
}
