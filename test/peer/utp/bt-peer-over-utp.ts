/**
 * A minimal BitTorrent peer over our uTP, for the libtorrent interop test (run with tsx inside
 * the test's network namespace). argv: port seederPort infoHashHex pieceLength dataFile
 * - listens on 127.0.0.1:port over uTP and serves every piece of dataFile to whoever connects;
 * - dials 127.0.0.1:seederPort over uTP and downloads every piece, checking it against dataFile.
 * Prints LISTENING, then DIAL_DONE {bytes, exact} (or FAIL {why}); serves until killed.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { UtpEndpoint } from '../../../src/peer/utp/endpoint.ts';
import type { UtpSocket } from '../../../src/peer/utp/utp-socket.ts';
import { BLOCK_SIZE, encode, encodeHandshake, decodeHandshake, HANDSHAKE_LENGTH, type Message, MessageParser } from '../../../src/peer/wire/messages.ts';

const [port, seederPort, infoHashHex, pieceLengthArg, dataFile] = process.argv.slice(2);
const infoHash = Buffer.from(infoHashHex!, 'hex');
const pieceLength = Number(pieceLengthArg);
const data = readFileSync(dataFile!);
const pieces = Math.ceil(data.length / pieceLength);
let rawIn = 0;
const say = (tag: string, obj: object) => console.log(tag, JSON.stringify(obj));

/** Exchange handshakes, then hand every message to `onMessage`. */
function speak(sock: UtpSocket, onMessage: (m: Message) => void): void {
  let pending = Buffer.alloc(0);
  let parser: MessageParser | null = null;
  sock.write(encodeHandshake(infoHash, Buffer.concat([Buffer.from('-UT0001-'), randomBytes(12)])));
  sock.on('data', (chunk: Buffer) => {
    rawIn += chunk.length;
    if (parser === null) {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < HANDSHAKE_LENGTH) return;
      const hs = decodeHandshake(pending.subarray(0, HANDSHAKE_LENGTH));
      if (!hs.infoHash.equals(infoHash)) throw new Error('wrong info_hash');
      parser = new MessageParser({ maxMessage: BLOCK_SIZE + 13 });
      chunk = pending.subarray(HANDSHAKE_LENGTH);
    }
    for (const m of parser.push(chunk)) onMessage(m);
  });
  sock.on('error', (e) => say('SOCKET_ERROR', { why: e.message }));
}

/** The connection's state, for a stalled run's report (private fields, read by a test only). */
function inside(sock: UtpSocket): object {
  const s = sock as unknown as { state: string; lastHeard: number; sender: { stats: object; inFlightPackets: number; queued: number }; reorder: { ackNr: number; bytes: number } | null };
  return { state: s.state, heardMsAgo: Math.round(performance.now() - s.lastHeard), sent: s.sender.stats, inFlight: s.sender.inFlightPackets, queued: s.sender.queued, ackNr: s.reorder?.ackNr, held: s.reorder?.bytes, readable: sock.readableLength, rawIn };
}

function serve(sock: UtpSocket): void {
  const bits = Buffer.alloc(Math.ceil(pieces / 8));
  for (let i = 0; i < pieces; i++) bits[i >> 3]! |= 0x80 >> (i & 7);
  speak(sock, (m) => {
    if (m.type === 'interested') sock.write(encode({ type: 'unchoke' }));
    if (m.type === 'request') {
      const at = m.index * pieceLength + m.begin;
      sock.write(encode({ type: 'piece', index: m.index, begin: m.begin, block: data.subarray(at, at + m.length) }));
    }
  });
  sock.write(encode({ type: 'bitfield', bits }));
}

async function download(): Promise<void> {
  const sock = await ep.connect('127.0.0.1', Number(seederPort), { timeoutMs: 10_000 });
  const got = Buffer.alloc(data.length);
  let received = 0;
  let requested = false;
  speak(sock, (m) => {
    if (m.type === 'unchoke' && !requested) {
      requested = true;
      for (let at = 0; at < data.length; at += BLOCK_SIZE) {
        const index = Math.floor(at / pieceLength);
        const length = Math.min(BLOCK_SIZE, data.length - at);
        sock.write(encode({ type: 'request', index, begin: at - index * pieceLength, length }));
      }
    }
    if (m.type === 'piece') {
      m.block.copy(got, m.index * pieceLength + m.begin);
      received += m.block.length;
      if (received === data.length) say('DIAL_DONE', { bytes: received, exact: got.equals(data) });
    }
  });
  sock.write(encode({ type: 'interested' }));
  // A stalled download says how far it got and why the connection ended (the test prints it).
  sock.once('close', () => received < data.length && say('DIAL_CLOSED', { received, requested }));
  const progress = setInterval(() => (received < data.length ? say('PROGRESS', { received, requested, ...inside(sock) }) : clearInterval(progress)), 5000);
  progress.unref();
}

const ep = await UtpEndpoint.bind(Number(port), '127.0.0.1');
ep.on('connection', serve);
say('LISTENING', { port: ep.address().port });
download().catch((e: Error) => say('FAIL', { why: `dial: ${e.message}` }));
