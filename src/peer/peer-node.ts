/** One peer process's server side: the torrents it shares and the HTTP server that serves them. */
import type http from 'node:http';
import { createPeerServer, type SharedTorrent, type UploadCounter } from './http-api.ts';
import { listen } from '../net/server-timeouts.ts';

export class PeerNode {
  readonly torrents = new Map<string, SharedTorrent>();
  readonly counter: UploadCounter = { uploaded: 0 };
  readonly server: http.Server;

  constructor() {
    this.server = createPeerServer(this.torrents, this.counter);
  }

  share(t: SharedTorrent): void {
    this.torrents.set(t.meta.infoHashHex, t);
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
