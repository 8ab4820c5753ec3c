/**
 * A UDP socket on the native batch addon (batch-native.ts): up to IN_SLOTS datagrams per JS call,
 * each handed to `handle`; the answers copied into the out slots and sent together with one
 * sendmmsg at the end of the batch. An answer that comes later (a promise: a store round trip)
 * joins the next batch, or a send scheduled for the end of this turn of the event loop.
 *
 * Bounded: OUT_SLOTS answers wait at most (when the kernel's send buffer is full, until it
 * drains); past that, answers are dropped, as a full socket buffer drops datagrams.
 */
import { constants } from 'node:os';
import { IN_META, IN_TEXT_AT, OUT_META, type NativeUdpHandle, type UdpBatchAddon } from './batch-native.ts';

/** One datagram and its sender -> the answer, or null to drop it. */
export type DatagramHandler = (msg: Buffer, address: string, port: number) => Buffer | Promise<Buffer> | null;
/** Something went wrong that costs one datagram or answer: log it (once per kind). */
export type LogOnce = (what: string, e: unknown) => void;

/** Datagrams per read batch (one recvmmsg, one JS call). */
export const IN_SLOTS = 64;
/** Answers that may wait for the socket. */
export const OUT_SLOTS = 512;
/**
 * Bytes per datagram and per answer: the largest BEP 15 request is a scrape of 74 hashes (1,496
 * bytes) or an announce with 1 KiB of URL data; the largest answer 20 + 79 x 18 = 1,442 bytes.
 * A longer datagram arrives truncated and is dropped.
 */
export const SLOT_BYTES = 2048;
/** How often the addon's counters are read for answers the kernel refused (they are logged once). */
const COUNTERS_EVERY_MS = 1000;
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export interface BatchSocketOptions {
  family: 4 | 6;
  host: string;
  port: number;
  /** SO_REUSEPORT: each worker of a cluster binds its own socket to the one port. */
  reusePort: boolean;
  /** SO_RCVBUF / SO_SNDBUF asked for (the kernel caps them at rmem_max / wmem_max). */
  bufferBytes: number;
}

export class BatchUdpSocket {
  private readonly inData = Buffer.alloc(IN_SLOTS * SLOT_BYTES);
  private readonly inMeta = Buffer.alloc(IN_SLOTS * IN_META);
  private readonly outData = Buffer.alloc(OUT_SLOTS * SLOT_BYTES);
  private readonly outMeta = Buffer.alloc(OUT_SLOTS * OUT_META);
  private readonly handleRef: NativeUdpHandle;
  /** Answers waiting in the out slots [head, tail). */
  private head = 0;
  private tail = 0;
  /** The kernel refused more (EAGAIN): wait for the addon's onWritable before sending again. */
  private blocked = false;
  private flushScheduled = false;
  private closed = false;
  /** Answers dropped because every out slot was taken, or too long for one. */
  dropped = 0;
  private sendErrorsSeen = 0;
  private countersReadAt = 0;

  /** Bind (throws an Error with `code`, e.g. EADDRINUSE, as dgram's bind does). */
  constructor(
    private readonly addon: UdpBatchAddon,
    options: BatchSocketOptions,
    private readonly handle: DatagramHandler,
    private readonly logOnce: LogOnce,
  ) {
    const o = options;
    this.handleRef = addon.open(
      o.family, o.host, o.port, o.reusePort, o.bufferBytes,
      this.inData, this.inMeta, IN_SLOTS, this.outData, this.outMeta, OUT_SLOTS, SLOT_BYTES,
      (n) => this.onBatch(n), () => this.onWritable(),
    );
  }

  get port(): number {
    return this.addon.localPort(this.handleRef);
  }

  /** [truncated datagrams dropped, answers the kernel refused, errno of the last refusal] */
  counters(): [number, number, number] {
    return this.addon.counters(this.handleRef);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handleRef);
  }

  /** `n` datagrams in the in slots (negative: the socket failed with errno -n). */
  private onBatch(n: number): void {
    if (n < 0) return this.logOnce('socket', Object.assign(new Error(`poll failed (${n})`), { code: `E${-n}` }));
    const meta = this.inMeta;
    for (let i = 0; i < n && !this.closed; i++) {
      const m = i * IN_META;
      if (meta[m + 6] === 0) continue; // truncated: dropped
      const length = meta.readUInt32LE(m);
      // A copy: the handler and the store may keep the datagram (views into it) past this batch.
      const msg = Buffer.allocUnsafe(length);
      this.inData.copy(msg, 0, i * SLOT_BYTES, i * SLOT_BYTES + length);
      const address = meta.toString('latin1', m + IN_TEXT_AT, m + IN_TEXT_AT + meta[m + 7]!);
      let answer: Buffer | Promise<Buffer> | null;
      try {
        answer = this.handle(msg, address, meta[m + 4]! | (meta[m + 5]! << 8));
      } catch (e) {
        this.logOnce('handler', e);
        continue;
      }
      if (answer === null) continue;
      if (Buffer.isBuffer(answer)) this.queue(answer, meta, m);
      else this.later(answer, Buffer.from(meta.subarray(m, m + OUT_META)));
    }
    this.flush();
  }

  /** An answer that comes later: queued to its client's address (`to`, a copy of its meta). */
  private later(answer: Promise<Buffer>, to: Buffer): void {
    answer.then(
      (a) => {
        if (this.closed) return;
        this.queue(a, to, 0);
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => {
            this.flushScheduled = false;
            this.flush();
          });
        }
      },
      (e: unknown) => this.logOnce('handler', e),
    );
  }

  /** Copy `answer` into the next out slot, addressed as the datagram whose meta is at meta[at]. */
  private queue(answer: Buffer, meta: Buffer, at: number): void {
    if (this.tail === OUT_SLOTS && this.head > 0) this.compact();
    if (this.tail === OUT_SLOTS || answer.length > SLOT_BYTES) {
      this.dropped++;
      this.logOnce('send', Object.assign(new Error(this.tail === OUT_SLOTS ? 'send queue full: answer dropped' : 'answer too long: dropped'), { code: 'ENOBUFS' }));
      return;
    }
    const slot = this.tail++;
    const o = slot * OUT_META;
    this.outMeta.writeUInt32LE(answer.length, o);
    meta.copy(this.outMeta, o + 4, at + 4, at + 28);
    answer.copy(this.outData, slot * SLOT_BYTES);
  }

  /** Move the waiting answers [head, tail) to the front of the out slots. */
  private compact(): void {
    const { head, tail } = this;
    this.outData.copyWithin(0, head * SLOT_BYTES, tail * SLOT_BYTES);
    this.outMeta.copyWithin(0, head * OUT_META, tail * OUT_META);
    this.head = 0;
    this.tail = tail - head;
  }

  private flush(): void {
    if (this.blocked || this.closed || this.head === this.tail) return;
    const waiting = this.tail - this.head;
    const done = this.addon.send(this.handleRef, this.head, waiting);
    const now = Date.now();
    if (now - this.countersReadAt >= COUNTERS_EVERY_MS) this.readCounters(now);
    if (done < waiting) {
      this.head += done;
      this.blocked = true; // the addon polls for writable and calls onWritable
      return;
    }
    this.head = this.tail = 0;
  }

  /** Answers the kernel refused since the last look (EPERM from a firewall, ...): logged once. */
  private readCounters(now: number): void {
    this.countersReadAt = now;
    const [, sendErrors, errno] = this.addon.counters(this.handleRef);
    if (sendErrors === this.sendErrorsSeen) return;
    this.sendErrorsSeen = sendErrors;
    const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
    this.logOnce('send', Object.assign(new Error(`the kernel refused an answer (${code})`), { code }));
  }

  private onWritable(): void {
    this.blocked = false;
    this.flush();
  }
}
