/**
 * The peer API's HTTP connections, each answering one request at a time. Node runs the handler
 * of every pipelined request at once and buffers the later answers: 60 pipelined GETs would read
 * (and once cost upload budget for) 60 bodies before the first is taken. Here a request's
 * handler starts only when the previous answer has been fully written, so a queued request costs
 * nothing until its turn; a pipeline deeper than `maxPipeline` closes the connection.
 * Each connection also carries the send deadline (SendWatchdog) and a signal that aborts when it
 * closes, for the body writer to stop at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { SendWatchdog } from './send-watchdog.ts';

export interface HttpConnectionOptions {
  /** A client that takes no bytes of an answer for this long is disconnected. */
  sendTimeoutMs: number;
  /** Requests one connection may have waiting behind the one being answered. */
  maxPipeline: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What a body writer needs of the connection it writes to. */
export interface Exchange {
  /** Aborts when the connection closes. */
  readonly signal: AbortSignal;
  readonly watchdog: SendWatchdog;
}

class HttpConnection implements Exchange {
  private readonly closed = new AbortController();
  readonly signal = this.closed.signal;
  readonly watchdog: SendWatchdog;
  private readonly waiting: Array<[IncomingMessage, ServerResponse]> = [];
  private busy = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly handler: Handler,
    private readonly opts: HttpConnectionOptions,
  ) {
    this.watchdog = new SendWatchdog(opts.sendTimeoutMs, () => socket.destroy());
    socket.once('close', () => {
      this.watchdog.idle();
      this.waiting.length = 0;
      this.closed.abort();
    });
  }

  push(req: IncomingMessage, res: ServerResponse): void {
    if (!this.busy) return this.start(req, res);
    if (this.waiting.length >= this.opts.maxPipeline) {
      this.socket.destroy();
      return;
    }
    this.waiting.push([req, res]);
  }

  private start(req: IncomingMessage, res: ServerResponse): void {
    this.busy = true;
    // The answer must be on its way within the deadline (a body writer refines this).
    this.watchdog.waiting();
    res.once('finish', () => {
      this.busy = false;
      this.watchdog.idle();
      const next = this.waiting.shift();
      if (next && !this.signal.aborted) this.start(next[0], next[1]);
    });
    this.handler(req, res);
  }
}

/** The 'request' listener of an http.Server, and the way back from an answer to its connection. */
export class HttpConnections {
  private readonly bySocket = new WeakMap<net.Socket, HttpConnection>();

  constructor(
    private readonly handler: Handler,
    private readonly opts: HttpConnectionOptions,
  ) {}

  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    let c = this.bySocket.get(socket);
    if (!c) this.bySocket.set(socket, (c = new HttpConnection(socket, this.handler, this.opts)));
    c.push(req, res);
  };

  /** The connection a request came on (and its answer goes out on). */
  exchangeOf(req: IncomingMessage): Exchange | undefined {
    return this.bySocket.get(req.socket);
  }
}
