/**
 * The tracker's front door: a `net.Server` that answers plain `GET /announce` and `GET /scrape`
 * requests straight off the connection (fast-connection.ts), and hands every other connection (at
 * the first request it does not take) to Node's full HTTP server, which serves the rest of the
 * tracker (Express: /peers, 404s) and judges anything unusual.
 *
 * Why: per request, Node's `http` machinery (parser callbacks, IncomingMessage, ServerResponse,
 * header objects) costs more than the announce itself, and so does a net.Socket (its creation,
 * and each write through its stream): connections are served on libuv's handles
 * (src/net/raw-accept.ts) where this Node allows it, and get a socket only when handed over
 * (figures: bench/README.md).
 */
import net from 'node:net';
import { attachRawAccept, type ReleaseSlot } from '../../net/raw-accept.ts';
import { onSharedSocketRead, SocketTransport } from '../../net/transport.ts';
import { FastConnection, type FastConnectionOptions } from './fast-connection.ts';

export interface FastPathOptions extends FastConnectionOptions {
  /**
   * Called at accept: false when the socket was refused (and destroyed). Absent: all are taken.
   * With `claim` (a slot for an address, before any socket exists), connections are accepted
   * raw where this Node allows it (connectionCap gives both).
   */
  admit?: ((socket: net.Socket) => boolean) & { claim?(address: string | undefined): ReleaseSlot | null };
  /** False: every connection gets a net.Socket at accept (the path of a Node without raw handles). */
  rawAccept?: boolean;
}

export interface FastPathServer {
  server: net.Server;
  /** Destroy every connection the fast path still owns (the fallback closes its own). */
  destroyConnections(): void;
}

export function createFastPathServer(opts: FastPathOptions): FastPathServer {
  const live = new Set<FastConnection>();
  // Reads of every connection of this server land here: each read is served synchronously, and
  // whatever is kept is copied out before the next (FastConnection.onData).
  const shared = Buffer.allocUnsafeSlow(64 * 1024);
  // Half-open, as Node's HTTP server is: a client that closes its side after a request still
  // gets the answer (FastConnection.onEnd).
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (opts.admit && !opts.admit(socket)) return;
    const transport = new SocketTransport(socket, shared);
    transport.owner = new FastConnection(transport, opts, live);
  });
  // Without `admit`, every connection is taken (a slot that is nothing to give back).
  const claim = opts.admit ? opts.admit.claim : (): ReleaseSlot => () => {};
  if (opts.rawAccept !== false && claim) {
    attachRawAccept(server, { buffer: shared, claim, onSocketRead: onSharedSocketRead, onAccept: (conn) => new FastConnection(conn, opts, live) });
  }
  // One sweep for every connection's head deadline (slowloris) and idle time, instead of a timer
  // per connection that every read and write would have to push back.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of live) c.checkDeadline(now);
  }, 1000);
  sweep.unref();
  server.on('close', () => clearInterval(sweep));
  return {
    server,
    destroyConnections() {
      for (const c of live) c.destroy();
    },
  };
}
