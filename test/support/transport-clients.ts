/**
 * Test clients that reach a PeerNode over any transport (a TCP socket, an MSE stream, a uTP
 * connection: each a Duplex): a normal one that fetches one block, plain or through MSE, and a
 * hostile MSE opening built by test/peer/mse/raw-mse.ts that can get any field wrong. `watch`
 * records what the node sends back to a hostile connection and when it closes it.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { decodeHandshake, encode, encodeHandshake, HANDSHAKE_LENGTH, MessageParser, type Message } from '../../src/peer/wire/messages.ts';
import { initiateMse, type EncryptionPolicy, type SelectedCrypto } from '../../src/peer/mse/index.ts';
import { rawInitiator, type RawFields } from '../peer/mse/raw-mse.ts';
import { clientPeerId, sleep } from './wire-peer.ts';

export interface BlockWanted {
  index: number;
  begin: number;
  length: number;
}

/** A TCP connection to the node from `localAddress` (any of 127.0.0.0/8 is loopback on Linux). */
export function tcpConnect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * The BitTorrent side of a normal client over `stream`: our handshake (unless it already went,
 * inside MSE's IA), interested, then one request once unchoked; resolves with the block.
 */
export function fetchBlock(stream: Duplex, infoHash: Buffer, want: BlockWanted, o: { handshakeSent?: boolean; initial?: Buffer; timeoutMs?: number } = {}): Promise<Buffer> {
  if (!o.handshakeSent) stream.write(encodeHandshake(infoHash, clientPeerId()));
  stream.write(encode({ type: 'interested' }));
  return new Promise((resolve, reject) => {
    let pre = Buffer.alloc(0);
    let parser: MessageParser | null = null;
    let requested = false;
    const finish = (err: Error | null, block?: Buffer) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve(block!);
    };
    const onMessage = (m: Message) => {
      if (m.type === 'unchoke' && !requested) {
        requested = true;
        stream.write(encode({ type: 'request', ...want }));
      }
      if (m.type === 'piece' && m.index === want.index && m.begin === want.begin) finish(null, Buffer.from(m.block));
    };
    const onData = (c: Buffer) => {
      try {
        if (parser === null) {
          pre = Buffer.concat([pre, c]);
          if (pre.length < HANDSHAKE_LENGTH) return;
          const hs = decodeHandshake(pre.subarray(0, HANDSHAKE_LENGTH));
          if (!hs.infoHash.equals(infoHash)) throw new Error('the node answered for another torrent');
          parser = new MessageParser({ maxMessage: 1 << 20 });
          c = pre.subarray(HANDSHAKE_LENGTH);
        }
        for (const m of parser.push(c)) onMessage(m);
      } catch (e) {
        finish(e as Error);
      }
    };
    const onClose = () => finish(new Error('closed before the block came'));
    const timer = setTimeout(() => finish(new Error('no block within the deadline')), o.timeoutMs ?? 5000);
    stream.on('data', onData);
    stream.on('close', onClose);
    if (o.initial?.length) onData(o.initial);
    stream.resume(); // a socket handed on by a handshake is left paused
  });
}

/** MSE as a real client runs it (our own initiator), the BitTorrent handshake in IA, then one block. RC4 only by default: offered both, a node under `allow` picks plaintext. */
export async function fetchBlockMse(socket: Duplex, infoHash: Buffer, want: BlockWanted, policy: EncryptionPolicy = 'require'): Promise<{ block: Buffer; selected: SelectedCrypto }> {
  const m = await initiateMse(socket, infoHash, { policy, initialPayload: encodeHandshake(infoHash, clientPeerId()), timeoutMs: 5000 });
  const block = await fetchBlock(m.stream, infoHash, want, { handshakeSent: true, initial: m.rest });
  m.stream.destroy();
  return { block, selected: m.selected };
}

/** What the node did to a connection: every byte it sent back, and when it closed it. */
export interface Watched {
  stream: Duplex;
  chunks: Buffer[];
  readonly bytesIn: number;
  readonly received: Buffer;
  /** Date.now() at close, or undefined while open. */
  closedAt: number | undefined;
  closed: Promise<number>;
}

export function watch(stream: Duplex): Watched {
  const chunks: Buffer[] = [];
  let closedAt: number | undefined;
  stream.on('error', () => {});
  stream.on('data', (c: Buffer) => void chunks.push(Buffer.from(c)));
  const closed = new Promise<number>((resolve) => stream.once('close', () => resolve((closedAt = Date.now()))));
  return {
    stream,
    chunks,
    get bytesIn() {
      return chunks.reduce((n, c) => n + c.length, 0);
    },
    get received() {
      return Buffer.concat(chunks);
    },
    get closedAt() {
      return closedAt;
    },
    closed,
  };
}

/** Wait until `w` has `n` bytes or is closed (false then), within `ms`. */
export async function bytesOrClose(w: Watched, n: number, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (w.bytesIn < n && w.closedAt === undefined) {
    if (Date.now() - t0 > ms) throw new Error(`neither ${n} bytes nor a close within ${ms} ms`);
    await sleep(10);
  }
  return w.bytesIn >= n;
}

/**
 * A hand-built MSE opening with any field wrong (`fields`): Ya and PadA, then, once the node's Yb
 * is in, the third message. Resolves once that went (or the node closed first).
 */
export async function hostileMse(stream: Duplex, fields: RawFields): Promise<Watched> {
  const w = watch(stream);
  const raw = rawInitiator(fields);
  stream.write(raw.opening);
  if (await bytesOrClose(w, 96, 5000)) stream.write(raw.third(w.received).bytes);
  return w;
}

/** Yb plus the longest PadB: an MSE node that refused a peer sends it nothing beyond these. */
export const MAX_DH_REPLY = 96 + 512;

/** The BitTorrent protocol header: a node that answered a handshake sent it (in the clear). */
export const BT_HEADER = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol', 'latin1')]);
