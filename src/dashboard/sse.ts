/**
 * Server-Sent Events for the dashboards. One timer per hub publishes at a fixed rate whatever the
 * load: the update is computed once per tick and the same bytes go to every client. Nothing runs
 * while nobody watches (the timer starts with the first client, stops with the last). A client
 * that does not read is dropped once its unsent bytes pass a bound; clients are capped.
 */
import type http from 'node:http';

export interface SseOptions {
  /** What to publish; called once per tick while at least one client watches. */
  produce(): unknown;
  /** Between ticks (default 1000; at least 50). */
  intervalMs?: number;
  /** Clients at once; beyond, 503 (default 32). */
  maxClients?: number;
  /** Clients of one address at once, so one cannot take every place (default 4). */
  maxPerAddress?: number;
  /** Unsent bytes a client may have before it is dropped (default 256 KiB). */
  maxBufferedBytes?: number;
  /** Reported on a failing produce(), once per failure streak. */
  onError?(e: unknown): void;
}

export const SSE_DEFAULTS = { intervalMs: 1000, maxClients: 32, maxPerAddress: 4, maxBufferedBytes: 256 * 1024 };

/** One message: `data:` + JSON (which has no raw newline) + a blank line. */
export function sseMessage(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

export class SseHub {
  private readonly clients = new Set<http.ServerResponse>();
  private readonly perAddress = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly maxClients: number;
  private readonly maxPerAddress: number;
  private readonly maxBuffered: number;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private failing = false;
  /** The latest message and when it was made: a newcomer gets it at once if it is fresh. */
  private last: { text: string; at: number } | undefined;
  /** Ticks run (for tests and the bound on work). */
  ticks = 0;
  /** Clients dropped for not reading. */
  dropped = 0;

  constructor(private readonly o: SseOptions) {
    this.intervalMs = Math.max(50, o.intervalMs ?? SSE_DEFAULTS.intervalMs);
    this.maxClients = o.maxClients ?? SSE_DEFAULTS.maxClients;
    this.maxPerAddress = o.maxPerAddress ?? SSE_DEFAULTS.maxPerAddress;
    this.maxBuffered = o.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes;
  }

  get watching(): number {
    return this.clients.size;
  }

  /** Take `res` as an event stream (or answer 503 when full). */
  accept(req: http.IncomingMessage, res: http.ServerResponse): void {
    const address = req.socket.remoteAddress ?? '';
    const mine = this.perAddress.get(address) ?? 0;
    if (this.clients.size >= this.maxClients || mine >= this.maxPerAddress) {
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '10' }).end('too many dashboard clients\n');
      return;
    }
    this.perAddress.set(address, mine + 1);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no',
    });
    // The browser waits this long before reconnecting by itself.
    res.write('retry: 3000\n\n');
    req.socket.setNoDelay(true);
    this.clients.add(res);
    res.on('close', () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
      this.remove(res);
    });
    if (this.last !== undefined && Date.now() - this.last.at < this.intervalMs) res.write(this.last.text);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
      void this.tick();
    }
  }

  /** End every stream (cleanly: browsers reconnect later) and stop the timer. */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stop();
  }

  private remove(res: http.ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One update for everybody; a tick still running (a slow store) makes the next one skip. */
  private async tick(): Promise<void> {
    if (this.busy || this.clients.size === 0) return;
    this.busy = true;
    try {
      const text = sseMessage(await this.o.produce());
      this.failing = false;
      this.last = { text, at: Date.now() };
      this.ticks++;
      for (const res of this.clients) {
        if (res.writableLength > this.maxBuffered) {
          this.dropped++;
          res.destroy();
          this.clients.delete(res);
        } else {
          res.write(text);
        }
      }
      if (this.clients.size === 0) this.stop();
    } catch (e) {
      if (!this.failing) this.o.onError?.(e);
      this.failing = true;
    } finally {
      this.busy = false;
    }
  }
}
