/**
 * A server connection as its request loop sees it: bytes in, answers out, backpressure both ways,
 * and a hand-off to another server as a net.Socket. Two kinds: a net.Socket (SocketTransport,
 * here) and a libuv handle with no socket at all (RawConnection, src/net/raw-accept.ts), which
 * costs a fraction of a socket per request (figures: bench/README.md).
 */
import type net from 'node:net';
import { readIntoUserBuffer } from './node-internals.ts';

/** What a transport tells the connection's owner. */
export interface TransportOwner {
  /** Bytes read; when `shared`, a view of the server's read buffer, valid during the call only. */
  onData(chunk: Buffer, shared: boolean): void;
  /** The client closed its side (the server's sockets are half-open: nothing closes by itself). */
  onEnd(): void;
  /** A write that returned false has gone out in full. */
  onDrain(): void;
  /** Closed, by either side; called once, and nothing after it. */
  onClose(): void;
}

export interface Transport {
  /** The client's address, as at accept. */
  readonly remoteAddress: string | undefined;
  /** Send `data`; false when it could not all go out now (onDrain follows, unless it closes). */
  write(data: Buffer): boolean;
  /** Send `data` (if any), then close once everything written has gone out. */
  end(data?: Buffer): void;
  /** Stop reading (the client is not reading its answers, or is too far ahead). */
  pause(): void;
  resume(): void;
  destroy(): void;
  /** This connection as a net.Socket, paused, for another server: the owner hears nothing more. */
  toSocket(): net.Socket;
}

const TRANSPORT = Symbol('socket-transport');
type OwnedSocket = net.Socket & { [TRANSPORT]: SocketTransport };

// Listeners shared by every socket: none allocated per connection.
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[TRANSPORT].owner.onData(chunk, false);
}
function onSocketError(this: OwnedSocket): void {
  this.destroy();
}
function onSocketClose(this: OwnedSocket): void {
  this[TRANSPORT].owner.onClose();
}
function onSocketEnd(this: OwnedSocket): void {
  this[TRANSPORT].owner.onEnd();
}
function onSocketDrain(this: OwnedSocket): void {
  this[TRANSPORT].owner.onDrain();
}
/** A read into the shared buffer (net.Socket's `onread` hook); pushed into the stream once handed off. */
export function onSharedSocketRead(this: net.Socket, nread: number, shared: Buffer): boolean | undefined {
  const t = (this as OwnedSocket)[TRANSPORT];
  // After a hand-off, reads go into the stream, as 'data' (false: the stream is full, stop reading).
  if (!t || t.handedOff) return this.push(Buffer.from(shared.subarray(0, nread)));
  t.owner.onData(shared.subarray(0, nread), true);
}

/** A net.Socket as a Transport; its reads go into `shared` where this Node allows it. */
export class SocketTransport implements Transport {
  owner!: TransportOwner;
  handedOff = false;

  constructor(
    private readonly socket: net.Socket,
    shared: Buffer,
  ) {
    (socket as OwnedSocket)[TRANSPORT] = this;
    if (!readIntoUserBuffer(socket, shared, onSharedSocketRead)) socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  write(data: Buffer): boolean {
    if (this.socket.write(data)) return true;
    this.socket.once('drain', onSocketDrain);
    return false;
  }

  end(data?: Buffer): void {
    if (data) this.socket.end(data);
    else this.socket.end();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  toSocket(): net.Socket {
    const socket = this.socket;
    this.handedOff = true;
    socket.off('data', onSocketData);
    socket.off('error', onSocketError);
    socket.off('close', onSocketClose);
    socket.off('end', onSocketEnd);
    socket.off('drain', onSocketDrain);
    socket.pause();
    return socket;
  }
}
