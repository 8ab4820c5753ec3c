/**
 * Node's private internals that the servers rely on, in one module, each behind a feature test
 * with a fallback to public API: a Node upgrade that changes them touches this file only.
 * (bench/floor-server.mjs keeps its own copy on purpose: it must not import the tracker.)
 */
import type net from 'node:net';
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

/** Another callback for a socket that readIntoUserBuffer set up (after a hand-off). */
export function setUserBufferRead(socket: net.Socket, onRead: UserBufferRead): void {
  if (readHook) (socket as HookedSocket)[readHook.kBufferCb] = onRead;
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
