/** One peer process's server side: the torrents it shares and the HTTP server that serves them. */
import type http from 'node:http';
import { createPeerServer, type PeerApiContext, type SharedTorrent, type UploadCounter } from './http-api.ts';
import { listen } from '../net/server-timeouts.ts';
import { RateLimiter } from '../net/rate-limiter.ts';

export interface PeerNodeOptions {
  /** Cap on every byte uploaded, in bytes per second (`--max-upload-rate`). */
  maxUploadRate?: number;
}

export class PeerNode {
  readonly torrents = new Map<string, SharedTorrent>();
  readonly counter: UploadCounter = { uploaded: 0 };
  readonly server: http.Server;
  private readonly ctx: PeerApiContext;

  constructor(opts: PeerNodeOptions = {}) {
    this.ctx = {
      torrents: this.torrents,
      counter: this.counter,
      limiter: opts.maxUploadRate ? new RateLimiter(opts.maxUploadRate) : undefined,
    };
    this.server = createPeerServer(this.ctx);
  }

  share(t: SharedTorrent): void {
    this.torrents.set(t.meta.infoHashHex, t);
  }

  /** Be told of downloading peers that announced the port they serve on. */
  onPeerSeen(f: (infoHashHex: string, ip: string, port: number) => void): void {
    this.ctx.onPeerSeen = f;
  }

  listen(port: number, host: string): Promise<void> {
    return listen(this.server, port, host);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
