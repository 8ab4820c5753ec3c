/** The sending half (src/peer/utp/sender.ts) with a recording transmitter: windows, acks, SACK, retransmission, FIN. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sender } from '../../../src/peer/utp/sender.ts';
import { buildSack, seqAdd, ST_DATA, ST_FIN, ST_STATE, ST_SYN, type PacketType } from '../../../src/peer/utp/packet.ts';

const MSS = 1000;

function recording(firstSeq = 0xfff0) {
  const sent: { type: PacketType; seq: number; len: number }[] = [];
  const s = new Sender(firstSeq, MSS, {
    stamp: (buf, type, seq) => {
      buf[0] = type;
      buf.writeUInt16BE(seq, 16);
    },
    send: (buf) => sent.push({ type: buf[0] as PacketType, seq: buf.readUInt16BE(16), len: buf.length - 20 }),
  });
  return { s, sent, seqs: () => sent.map((p) => p.seq) };
}

test('queued bytes go out in MSS-sized packets as far as the smaller of cwnd and the peer window allows', () => {
  const { s, sent } = recording();
  s.enqueue(Buffer.alloc(10 * MSS + 5));
  s.peerWnd = 3 * MSS;
  assert.equal(s.flush(0), true);
  assert.deepEqual(sent.map((p) => p.len), [MSS, MSS, MSS]);
  s.onAck(seqAdd(0xfff0, 1), null, 10 * MSS, 0, ST_STATE, 1);
  s.flush(1);
  // Two acked: slow start takes cwnd from 4 to 6 MSS, now the smaller window.
  assert.equal(s.cc.cwnd, 6 * MSS);
  assert.equal(s.inFlightPackets, 6);
  assert.equal(s.queued, 10 * MSS + 5 - 8 * MSS);
});

test('an ack for something never sent, or older than the window, is ignored', () => {
  const { s } = recording(100);
  s.enqueue(Buffer.alloc(2 * MSS));
  s.flush(0);
  assert.equal(s.onAck(500, null, 1 << 20, 0, ST_STATE, 1), false);
  assert.equal(s.onAck(50, null, 1 << 20, 0, ST_STATE, 1), false);
  assert.equal(s.inFlightPackets, 2);
  assert.equal(s.onAck(101, null, 1 << 20, 0, ST_STATE, 1), true);
  assert.equal(s.inFlightPackets, 0);
});

test('three packets SACKed past a hole: the hole is resent at once (fast retransmit), across the seq wrap', () => {
  const { s, seqs } = recording(0xfffe);
  s.enqueue(Buffer.alloc(4 * MSS));
  s.flush(0);
  assert.deepEqual(seqs(), [0xfffe, 0xffff, 0, 1], 'the initial window is 4 packets');
  // The peer lost 0xfffe and got 0xffff, 0, 1.
  s.onAck(0xfffd, buildSack(0xfffd, [0xffff, 0, 1]), 1 << 20, 0, ST_STATE, 5);
  s.flush(5);
  assert.deepEqual(seqs().slice(4), [0xfffe]);
  assert.equal(s.stats.fastResent, 1);
  s.onAck(1, null, 1 << 20, 0, ST_STATE, 6);
  assert.equal(s.inFlightPackets, 0);
});

test('three duplicate acks resend the oldest packet', () => {
  const { s, seqs } = recording(10);
  s.enqueue(Buffer.alloc(4 * MSS));
  s.flush(0);
  for (let i = 0; i < 4; i++) s.onAck(10, null, 1 << 20, 0, ST_STATE, 1); // an ack, then 3 duplicates
  s.flush(1);
  assert.deepEqual(seqs(), [10, 11, 12, 13, 11]);
});

test('a timeout resends the oldest with the window at one packet; then a probe; progress resets the count', () => {
  const { s, seqs } = recording(0);
  s.enqueue(Buffer.alloc(3 * MSS));
  s.flush(0);
  assert.equal(s.tick(30), false, 'before the RTO: a tail-loss probe instead');
  assert.deepEqual(seqs(), [0, 1, 2, 2]);
  assert.equal(s.tick(1000), true);
  assert.equal(s.timeouts, 1);
  assert.deepEqual(seqs().slice(4), [0]);
  assert.equal(s.cc.cwnd, MSS);
  s.onAck(0, null, 1 << 20, 0, ST_STATE, 1001);
  assert.equal(s.timeouts, 0);
  s.flush(1001);
  assert.deepEqual(seqs().slice(5), [1, 2], 'the rest is resent as the window (in slow start again) allows');
});

test('a SYN is never probed and is resent only after 3 s (libtorrent takes a resent SYN for a second connection)', () => {
  const { s, sent } = recording(7);
  s.sendControl(ST_SYN, 0);
  for (let now = 10; now < 3000; now += 10) assert.equal(s.tick(now), false, `no SYN timeout at ${now} ms`);
  assert.equal(sent.length, 1, `the SYN went out once in 3 s, not ${sent.length} times`);
  assert.equal(s.tick(3000), true);
  assert.deepEqual(sent.map((p) => [p.type, p.seq]), [[ST_SYN, 7], [ST_SYN, 7]]);
  // Once connected, data is probed as before (the SYN rule is the SYN's only).
  s.onAck(7, null, 1 << 20, 0, ST_STATE, 3100);
  s.enqueue(Buffer.alloc(MSS));
  s.flush(3100);
  for (let now = 3110; now < 3300; now += 10) s.tick(now);
  assert.ok(s.stats.probes > 0, 'data left unacked is probed before its timeout');
});

test('a peer window of zero stops new data but lets one probe packet through a second apart', () => {
  const { s, sent } = recording(0);
  s.enqueue(Buffer.alloc(5 * MSS));
  s.peerWnd = 0;
  s.flush(0);
  assert.equal(sent.length, 0, 'the first probe waits a second after start');
  s.flush(1500);
  assert.equal(sent.length, 1);
  s.onAck(0, null, 0, 0, ST_STATE, 1501);
  s.flush(1600);
  assert.equal(sent.length, 1, 'no second probe within the second');
  s.flush(2600);
  assert.equal(sent.length, 2);
});

test('the FIN follows the last byte and is acked like data', () => {
  const { s, sent } = recording(7);
  s.enqueue(Buffer.alloc(MSS + 1));
  s.queueFin();
  s.flush(0);
  assert.deepEqual(sent.map((p) => [p.type, p.seq, p.len]), [[ST_DATA, 7, MSS], [ST_DATA, 8, 1], [ST_FIN, 9, 0]]);
  assert.equal(s.stateSeq, 9, 'STATE packets after the FIN carry its seq_nr (libtorrent ignores higher ones)');
  s.onAck(8, null, 1 << 20, 0, ST_STATE, 1);
  assert.equal(s.finAcked, false);
  s.onAck(9, null, 1 << 20, 0, ST_STATE, 2);
  assert.equal(s.finAcked, true);
});
