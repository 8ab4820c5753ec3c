/**
 * Node's private internals that the servers rely on, in one module, each behind a feature test
 * with a fallback to public API: a Node upgrade that changes them touches this file only.
 * (bench/floor-server.mjs keeps its own copy on purpose: it must not import the tracker.)
 */
import net from 'node:net';
import type { Server } from 'node:http';

/** The symbols net.Socket keeps its `onread` buffer and callback under. */
interface ReadHook {
  kBuffer: symbol;
  kBufferCb: symbol;
}
type HookedSocket = net.Socket & Record<symbol, unknown> & { _handle?: { useUserBuffer?: (buf: Buffer) => void } | null };

/** A read into a caller's buffer: `nread` bytes at its start. */
export type UserBufferRead = (this: net.Socket, nread: number, buffer: Buffer) => unknown;

/** Looked up on the first socket: undefined until then, null when this Node has no such hook. */
let readHook: ReadHook | null | undefined;

/** The private symbols, found by their description and checked (both present, both unset). */
function findReadHook(socket: HookedSocket): ReadHook | null {
  let kBuffer: symbol | undefined;
  let kBufferCb: symbol | undefined;
  for (const s of Object.getOwnPropertySymbols(socket)) {
    if (s.description === 'kBuffer') kBuffer = s;
    else if (s.description === 'kBufferCb') kBufferCb = s;
  }
  if (!kBuffer || !kBufferCb || socket[kBuffer] !== null || socket[kBufferCb] !== null) return null;
  return { kBuffer, kBufferCb };
}

/**
 * Make an accepted socket read into `buffer` and call `onRead` for each read, instead of a fresh
 * allocation per read pushed through the stream: what net.Socket's `onread` option does, which
 * Node offers to sockets it connects but not to accepted ones. False when this Node does not have
 * the mechanism: the caller then reads through 'data' events.
 */
export function readIntoUserBuffer(socket: net.Socket, buffer: Buffer, onRead: UserBufferRead): boolean {
  const s = socket as HookedSocket;
  readHook ??= findReadHook(s);
  const handle = s._handle;
  if (!readHook || typeof handle?.useUserBuffer !== 'function') return false;
  s[readHook.kBuffer] = buffer;
  s[readHook.kBufferCb] = onRead;
  handle.useUserBuffer(buffer);
  return true;
}

/**
 * How often Node checks an http.Server's headersTimeout / requestTimeout (default 30 s: a head
 * timeout of 15 s would be enforced after up to 45 s). A constructor option in Node, not a
 * public property; set where the server exists already.
 */
export function setConnectionsCheckingInterval(server: Server, ms: number): void {
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = ms;
}

/**
 * Start the connection tracking of an http.Server that never listens itself (it serves
 * connections handed to it): Node starts it, with the timeout checks and closeAllConnections(),
 * on the server's 'listening' event only, so that event is emitted for it.
 */
export function startConnectionTracking(server: Server): void {
  server.emit('listening');
}

// ---- Accepted TCP handles without a net.Socket ----------------------------------------------
//
// A net.Socket costs far more to build and tear down (Duplex, stream states, end/finish/close
// choreography: shutdown, a wait for the peer's FIN, then close) than a one-request connection
// needs. These functions let a server read a connection's first bytes from libuv's handle itself,
// answer and close it there, or wrap it in a net.Socket when it turns out to need one.

/** A connection's libuv TCP handle, accepted and not (yet) owned by a net.Socket. */
export interface RawTcp {
  readonly rawTcp: never;
}
/** Receives a RawTcp's reads (nread > 0: bytes at the start of its buffer; < 0: EOF or error). */
export interface RawReader {
  onRawRead(nread: number): void;
}

interface TcpHandle {
  reading: boolean;
  onread: ((this: TcpHandle) => void) | null;
  readStart(): number;
  readStop(): number;
  setNoDelay(on: boolean): number;
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  getpeername(out: { address?: string }): number;
  close(): void;
  [RAW_READER]?: RawReader;
}
interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  handle: TcpHandle;
  buffer: Uint8Array | null;
  async: boolean;
  bytes: number;
  [RAW_DONE]?: (ok: boolean) => void;
}
interface StreamWrap {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}
type ServerWithHandle = net.Server & { _handle?: { onconnection?: unknown } | null; _connections?: unknown; noDelay?: boolean };

const RAW_READER = Symbol('raw-reader');
const RAW_DONE = Symbol('raw-write-done');
/** libuv's stream binding (read sizes, write requests): undefined until looked up, null when absent. */
let streamWrap: StreamWrap | null | undefined;

function findStreamWrap(): StreamWrap | null {
  try {
    const binding = (process as unknown as { binding?: (name: string) => Partial<StreamWrap> }).binding?.('stream_wrap');
    if (!binding || typeof binding.WriteWrap !== 'function' || !(binding.streamBaseState instanceof Int32Array)) return null;
    if (typeof binding.kReadBytesOrError !== 'number' || typeof binding.kLastWriteWasAsync !== 'number') return null;
    return binding as StreamWrap;
  } catch {
    return null;
  }
}

function isTcpHandle(h: unknown): h is TcpHandle {
  const t = h as Partial<TcpHandle> | null;
  return !!t && typeof t.readStart === 'function' && typeof t.readStop === 'function' && typeof t.setNoDelay === 'function' && typeof t.useUserBuffer === 'function' && typeof t.writeBuffer === 'function' && typeof t.getpeername === 'function' && typeof t.close === 'function';
}

/**
 * From now on, connections accepted by the listening `server` go to `onAccept` as RawTcp handles
 * instead of becoming net.Sockets ('connection' is no longer emitted; wrap them with
 * socketFromRaw). False, and the server left as it was, when this Node lacks the mechanism.
 * Also works in a cluster worker, whose server handle receives its connections from the primary.
 */
export function acceptRaw(server: net.Server, onAccept: (h: RawTcp) => void): boolean {
  const s = server as ServerWithHandle;
  streamWrap ??= findStreamWrap();
  const listenHandle = s._handle;
  if (!streamWrap || !listenHandle || typeof listenHandle.onconnection !== 'function' || typeof s._connections !== 'number') return false;
  const nodeAccept = listenHandle.onconnection as (this: unknown, err: number, h: unknown) => void;
  listenHandle.onconnection = function (this: unknown, err: number, h: unknown) {
    // Errors, and handles of another kind, take Node's own path.
    if (err || !isTcpHandle(h)) return nodeAccept.call(this, err, h);
    // As Node's own accept does for a `noDelay` server: without it, each answer waits for the
    // client's delayed ACK of the previous one (Nagle).
    if (s.noDelay) h.setNoDelay(true);
    onAccept(h as unknown as RawTcp);
  };
  return true;
}

/** getpeername's answer object, reused: filling the same object again takes Node's fast path. */
const peer: { address?: string } = {};

/** The peer's address, as net.Socket#remoteAddress gives it (undefined when the peer is gone). */
export function rawPeerAddress(raw: RawTcp): string | undefined {
  peer.address = undefined;
  return (raw as unknown as TcpHandle).getpeername(peer) === 0 ? peer.address : undefined;
}

function onRawRead(this: TcpHandle): void {
  this[RAW_READER]!.onRawRead(streamWrap!.streamBaseState[streamWrap!.kReadBytesOrError]!);
}

/** Start reading `raw` into `buffer` (shared by many connections is fine: reads are delivered one at a time). */
export function rawStartReading(raw: RawTcp, buffer: Buffer, reader: RawReader): boolean {
  const h = raw as unknown as TcpHandle;
  h[RAW_READER] = reader;
  h.onread = onRawRead;
  h.useUserBuffer(buffer);
  // net.Socket reads this flag: a socket built on the handle later does not start it again.
  h.reading = true;
  return h.readStart() === 0;
}

/** Stop reading `raw` (a client that does not read its answers): no read callbacks until resumed. */
export function rawPauseReading(raw: RawTcp): void {
  const h = raw as unknown as TcpHandle;
  if (!h.reading) return;
  h.reading = false;
  h.readStop();
}

/** Read `raw` again after rawPauseReading; false when the connection is broken. */
export function rawResumeReading(raw: RawTcp): boolean {
  const h = raw as unknown as TcpHandle;
  if (h.reading) return true;
  h.reading = true;
  return h.readStart() === 0;
}

function onRawWriteDone(this: WriteReq, status: number): void {
  this[RAW_DONE]!(status === 0);
}

/**
 * Write `data` to `raw`. 'sent': all of it is in the kernel's send buffer; 'queued': libuv sends
 * the rest later and calls `onQueuedDone`; 'failed': the connection is broken.
 */
export function rawWrite(raw: RawTcp, data: Buffer, onQueuedDone: (ok: boolean) => void): 'sent' | 'queued' | 'failed' {
  const h = raw as unknown as TcpHandle;
  const { streamBaseState, kLastWriteWasAsync } = streamWrap!;
  const req = (spareWriteReq ??= newWriteReq());
  req.handle = h;
  const err = h.writeBuffer(req, data);
  if (err === 0 && streamBaseState[kLastWriteWasAsync]) {
    // libuv holds this request until the write completes: the next write gets a new one.
    spareWriteReq = undefined;
    req.buffer = data; // kept alive until libuv is done with it
    req[RAW_DONE] = onQueuedDone;
    return 'queued';
  }
  req.handle = SENT;
  return err === 0 ? 'sent' : 'failed';
}

/**
 * The write request of the next write. A write that libuv completes at once (all of it in the
 * kernel's buffer: nearly every answer) does not keep its request, so one serves them all.
 */
let spareWriteReq: WriteReq | undefined;
/** What a spare request points at between writes (not a handle it could keep alive). */
const SENT = null as unknown as TcpHandle;

function newWriteReq(): WriteReq {
  const req = new streamWrap!.WriteWrap();
  req.handle = SENT;
  req.oncomplete = onRawWriteDone;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  return req;
}

/** Close `raw` (what is in the send buffer still goes out, then FIN). */
export function rawClose(raw: RawTcp): void {
  (raw as unknown as TcpHandle).close();
}

/**
 * A net.Socket on `raw` that goes on reading into `buffer` through `onRead` (net.Socket's onread
 * option), counted by `server` as Node's own accept counts its sockets.
 */
export function socketFromRaw(server: net.Server, raw: RawTcp, buffer: Buffer, onRead: UserBufferRead): net.Socket {
  const options = { handle: raw, allowHalfOpen: (server as { allowHalfOpen?: boolean }).allowHalfOpen === true, readable: true, writable: true, onread: { buffer, callback: onRead } };
  const socket = new net.Socket(options as net.SocketConstructorOpts);
  const s = server as ServerWithHandle;
  s._connections = (s._connections as number) + 1;
  Object.assign(socket, { server, _server: server });
  return socket;
}
