/**
 * Opening a wire connection to a peer, as real clients do: over TCP, then uTP (`--transport`),
 * plain then encrypted or the other way round (`--encryption`), each attempt bounded. TCP comes
 * first: in Node a userspace uTP costs far more CPU per byte than the kernel's TCP, and a peer
 * that takes no TCP (uTP only, or behind a NAT that passes only UDP) refuses or times out at once.
 */
import { connectTcp, handshakeOut, ourHandshake, SilentCloseError } from './handshake.ts';
import { WireError, type Handshake } from './messages.ts';
import { MseError } from '../mse/index.ts';
import type { PeerSocket } from './peer-socket.ts';
import { initiateMse } from '../mse/index.ts';
import type { EncryptionPolicy, TransportChoice } from '../transport-options.ts';

/** What dials uTP (the peer's UDP endpoint), when it has one. */
export interface UtpDialer {
  connect(ip: string, port: number, opts?: { signal?: AbortSignal }): Promise<PeerSocket>;
}

export interface DialOptions {
  encryption: EncryptionPolicy;
  transport: TransportChoice;
  utp?: UtpDialer;
  signal?: AbortSignal;
  /** Our handshake's reserved bytes (default OUR_RESERVED). */
  reserved?: Buffer;
}

export interface OpenedWire {
  socket: PeerSocket;
  hs: Handshake;
  rest: Buffer;
}

type Transport = 'tcp' | 'utp';

function transports(o: DialOptions): Transport[] {
  const all: Transport[] = o.transport === 'utp' ? ['utp'] : o.transport === 'tcp' ? ['tcp'] : ['tcp', 'utp'];
  return all.filter((t) => t === 'tcp' || o.utp !== undefined);
}

/** Plain or MSE first, and whether to retry the other way (off: plain only; require: MSE only). */
function encryptions(policy: EncryptionPolicy): boolean[] {
  return { off: [false], allow: [false, true], prefer: [true, false], require: [true] }[policy];
}

class ConnectFailed extends Error {}

async function connect(t: Transport, ip: string, port: number, o: DialOptions): Promise<PeerSocket> {
  try {
    return t === 'tcp' ? await connectTcp(ip, port, o.signal) : await o.utp!.connect(ip, port, { signal: o.signal });
  } catch (e) {
    throw new ConnectFailed((e as Error).message);
  }
}

/** One attempt: connect, MSE if asked, BitTorrent handshakes both ways. */
async function attempt(t: Transport, encrypted: boolean, ip: string, port: number, infoHash: Buffer, peerId: Buffer, o: DialOptions): Promise<OpenedWire> {
  const raw = await connect(t, ip, port, o);
  if (!encrypted) return { ...(await handshakeOut(raw, infoHash, peerId, false, undefined, o.reserved)), socket: raw };
  // Our BitTorrent handshake rides in the MSE handshake (IA): no extra round trip.
  const policy = o.encryption === 'require' ? 'require' : 'prefer';
  const { stream, rest } = await initiateMse(raw, infoHash, { policy, initialPayload: ourHandshake(infoHash, peerId, o.reserved) });
  return { ...(await handshakeOut(stream, infoHash, peerId, true, rest)), socket: stream };
}

/**
 * What a failed attempt says about the peer: nobody there on this transport (try the next one),
 * a silent close or a failed MSE handshake (the other encryption may do), or an answer that is not
 * BitTorrent at all (an HTTP server, say: give up at once, without waiting on uTP).
 */
function verdict(e: unknown): 'next-transport' | 'next-encryption' | 'give-up' {
  if (e instanceof ConnectFailed) return 'next-transport';
  if (e instanceof SilentCloseError || e instanceof MseError) return 'next-encryption';
  return e instanceof WireError ? 'give-up' : 'next-encryption';
}

/** Connect to ip:port for `infoHash`; rejects with the last attempt's error. */
export async function openWire(ip: string, port: number, infoHash: Buffer, peerId: Buffer, o: DialOptions): Promise<OpenedWire> {
  let last: Error = new Error(`no way to reach ${ip}:${port} (transport ${o.transport})`);
  for (const t of transports(o)) {
    for (const encrypted of encryptions(o.encryption)) {
      if (o.signal?.aborted) throw last;
      try {
        return await attempt(t, encrypted, ip, port, infoHash, peerId, o);
      } catch (e) {
        last = e as Error;
        const v = verdict(e);
        if (v === 'give-up') throw last;
        if (v === 'next-transport') break;
      }
    }
  }
  throw last;
}
