/**
 * A piece (or a part of one) fetched from one wire peer: its blocks requested `window` at a time,
 * each request naming the slice of the piece's buffer that the message parser copies its payload
 * into, straight from the socket's bytes. One promise and one abort listener per fetch, and
 * deadlines by one sweep per peer, instead of promises, listeners and timers per 16 KiB block
 * (profiled: those and the garbage they left were a large part of the requester's CPU).
 */
import type { BlockRequest } from '../../peer/wire/our-requests.ts';

/** What a fetch needs of the connection (WireConnection's). */
export interface BlockLink {
  /** Send a request; throws when it cannot (choked, closed). */
  request(r: BlockRequest): void;
  /** Withdraw a pending request (a cancel goes out). */
  withdraw(r: BlockRequest): void;
}

export interface BlocksJob {
  piece: number;
  /** Where `into` starts in the piece. */
  begin: number;
  into: Buffer;
  blockSize: number;
  /** Requests in flight at once. */
  window: number;
  signal: AbortSignal;
  /** Bytes `into[offset, offset + length)` just arrived. */
  onData?: (offset: number, length: number) => void;
  /** Checked after each block: true stops the fetch (another source delivered the piece). */
  isDone?: () => boolean;
}

class Block implements BlockRequest {
  /** When the request went out (performance.now()). */
  readonly sentAt = performance.now();
  constructor(
    private readonly fetch: BlocksFetch,
    readonly index: number,
    readonly begin: number,
    readonly into: Buffer,
  ) {}
  settled(error?: Error): void {
    this.fetch.settled(this, error);
  }
}

export class BlocksFetch {
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (e: Error) => void;
  private readonly inFlight = new Set<Block>();
  /** Offset in `into` of the next block to request. */
  private next = 0;
  private finished = false;
  private readonly onAbort = () => this.fail(new Error('request cancelled'));

  constructor(
    private readonly link: BlockLink,
    private readonly job: BlocksJob,
    private readonly peer: PeerFetches,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (job.signal.aborted) {
      this.finished = true;
      this.reject(new Error('request cancelled'));
      return;
    }
    job.signal.addEventListener('abort', this.onAbort, { once: true });
    peer.add(this);
    this.fill();
  }

  /** A request of ours settled (called by OurRequests, synchronously). */
  settled(b: Block, error?: Error): void {
    this.inFlight.delete(b);
    if (this.finished) return;
    if (error) return this.fail(error);
    const { into, onData, isDone } = this.job;
    this.peer.received(b.into.length);
    onData?.(b.begin - this.job.begin, b.into.length);
    if (isDone?.()) return this.fail(new Error('piece already done'));
    if (this.next < into.length) this.fill();
    else if (this.inFlight.size === 0) {
      this.stop();
      this.resolve();
    }
  }

  /** Fail if a request has waited `ms` or more (called by the peer's sweep). */
  expire(now: number, ms: number, error: () => Error): void {
    for (const b of this.inFlight) {
      if (now - b.sentAt >= ms) return this.fail(error());
    }
  }

  private fill(): void {
    const { piece, begin, into, blockSize, window } = this.job;
    while (this.inFlight.size < window && this.next < into.length && !this.finished) {
      const at = this.next;
      const b = new Block(this, piece, begin + at, into.subarray(at, Math.min(at + blockSize, into.length)));
      this.next += b.into.length;
      this.inFlight.add(b);
      try {
        this.link.request(b);
      } catch (e) {
        return this.fail(e as Error);
      }
    }
  }

  /** Withdraw every request still out (nothing more is written into `into`), then reject. */
  private fail(e: Error): void {
    if (this.finished) return;
    this.stop();
    for (const b of this.inFlight) this.link.withdraw(b);
    this.inFlight.clear();
    this.reject(e);
  }

  private stop(): void {
    this.finished = true;
    this.job.signal.removeEventListener('abort', this.onAbort);
    this.peer.delete(this);
  }
}

/** How long the delivery rate is measured over. */
const RATE_WINDOW_MS = 250;

/**
 * One peer's fetches under way: their deadlines, where a request still unanswered `ms` after it
 * went out fails its fetch within ms..1.25 ms (one timer, running only while fetches are under
 * way), and the rate the peer delivers blocks at (how many requests it can be given).
 */
export class PeerFetches {
  private readonly fetches = new Set<BlocksFetch>();
  private timer: NodeJS.Timeout | undefined;
  private windowStart = performance.now();
  private windowBytes = 0;
  /** Bytes per second over the last window measured; undefined until one was. */
  rate: number | undefined;

  constructor(
    private readonly ms: number,
    private readonly expired: () => Error,
  ) {}

  add(f: BlocksFetch): void {
    this.fetches.add(f);
    this.timer ??= setTimeout(() => this.sweep(), Math.max(1, this.ms / 4));
  }

  delete(f: BlocksFetch): void {
    this.fetches.delete(f);
  }

  get size(): number {
    return this.fetches.size;
  }

  /** A block of `bytes` arrived. */
  received(bytes: number): void {
    this.windowBytes += bytes;
    const now = performance.now();
    if (now - this.windowStart < RATE_WINDOW_MS) return;
    this.rate = (this.windowBytes * 1000) / (now - this.windowStart);
    this.windowStart = now;
    this.windowBytes = 0;
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const f of [...this.fetches]) f.expire(now, this.ms, this.expired);
    if (this.fetches.size > 0) this.timer = setTimeout(() => this.sweep(), Math.max(1, this.ms / 4));
  }
}
