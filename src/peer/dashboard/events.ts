/**
 * GET /api/events: Server-Sent Events, one `torrents` event a second (every torrent's summary)
 * and, with `?torrent=<hex>`, one `torrent` event (that torrent's details) too. One timer for all
 * clients, running only while some are connected; each payload is built once per tick however
 * many clients read it. At most MAX_CLIENTS at once; a client that stops reading is closed by its
 * connection's send deadline (the watchdog), and one that falls MAX_BUFFERED behind at once.
 */
import type { ServerResponse } from 'node:http';
import type { PeerStats } from '../stats/peer-stats.ts';
import type { Exchange } from '../http-connections.ts';

export const EVENT_INTERVAL_MS = 1000;
export const MAX_CLIENTS = 32;
const MAX_BUFFERED = 1024 * 1024;

interface Client {
  res: ServerResponse;
  ex: Exchange;
  /** The torrent whose details it follows, if any. */
  torrent: string | undefined;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stats: PeerStats) {}

  get size(): number {
    return this.clients.size;
  }

  /** Start streaming to `res`; false when full (the caller answers 503). */
  add(res: ServerResponse, ex: Exchange, torrent: string | undefined): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    const client: Client = { res, ex, torrent };
    this.clients.add(client);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    // The browser reconnects after `retry` ms if the stream drops.
    this.send(client, `retry: 3000\n\n`);
    ex.signal.addEventListener('abort', () => this.remove(client), { once: true });
    res.once('close', () => this.remove(client));
    this.timer ??= setInterval(() => this.tick(), EVENT_INTERVAL_MS);
    this.tick(client);
    return true;
  }

  /** Close every stream (the server is stopping). */
  close(): void {
    for (const c of this.clients) c.res.destroy();
    this.clients.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** One round of events, to `only` or to every client; payloads built once per round. */
  private tick(only?: Client): void {
    const summaries = `event: torrents\ndata: ${JSON.stringify(this.stats.summaries())}\n\n`;
    const details = new Map<string, string>();
    for (const c of only ? [only] : this.clients) {
      let msg = summaries;
      if (c.torrent !== undefined) {
        let d = details.get(c.torrent);
        if (d === undefined) {
          const detail = this.stats.detail(c.torrent);
          d = detail ? `event: torrent\ndata: ${JSON.stringify(detail)}\n\n` : '';
          details.set(c.torrent, d);
        }
        msg += d;
      }
      this.send(c, msg);
    }
  }

  /** Write; the connection's deadline runs until the kernel took the bytes. */
  private send(c: Client, text: string): void {
    if (c.res.destroyed) return this.remove(c);
    if (c.res.writableLength > MAX_BUFFERED) {
      c.res.destroy();
      return this.remove(c);
    }
    c.ex.watchdog.waiting();
    c.res.write(text, () => c.ex.watchdog.idle());
  }
}
