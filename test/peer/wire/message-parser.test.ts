/**
 * The wire message parser with a block sink (src/peer/wire/message-parser.ts): piece payloads go
 * straight into the sink's buffers, other messages come out in order with them, nothing of a
 * chunk is kept after `feed` (chunks here come from one buffer that is overwritten after each
 * call, as the shared socket read buffer is), and a withdrawn request gets no more bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encode, MessageParser, WireError, type BlockSink, type Message } from '../../../src/peer/wire/messages.ts';

/** A sink that wants the blocks in `wanted` ("index:begin" -> buffer) and logs what happens. */
function sinkFor(wanted: Map<string, Buffer>, log: string[]): BlockSink {
  return {
    blockTarget: (index, begin, length) => {
      const b = wanted.get(`${index}:${begin}`);
      return b && b.length === length ? b : undefined;
    },
    blockArrived: (index, begin, target) => {
      assert.equal(wanted.get(`${index}:${begin}`), target);
      wanted.delete(`${index}:${begin}`);
      log.push(`block ${index}:${begin}`);
    },
  };
}

/** Feed `x` cut at random places, each piece copied into one scratch buffer that is wiped after the call. */
function feedReused(p: MessageParser, x: Buffer, onMessage: (m: Message) => void, maxCut = 40_000): void {
  const scratch = Buffer.alloc(maxCut);
  for (let at = 0; at < x.length; ) {
    const n = Math.min(x.length - at, 1 + Math.floor(Math.random() * maxCut));
    x.copy(scratch, 0, at, at + n);
    p.feed(scratch.subarray(0, n), onMessage);
    scratch.fill(0xee, 0, n); // whatever the parser kept a view of is now garbage
    at += n;
  }
}

const label = (m: Message) => (m.type === 'have' ? `have ${m.index}` : m.type === 'bitfield' ? `bitfield ${m.bits.toString('hex')}` : m.type);

test('blocks go into the sink buffers, in order with the other messages, from chunks that are reused at once', () => {
  for (let round = 0; round < 50; round++) {
    const blocks = Array.from({ length: 8 }, (_, i) => ({ index: i % 3, begin: i * 16384, block: randomBytes(1 + Math.floor(Math.random() * 16384)) }));
    const wanted = new Map(blocks.filter((_, i) => i !== 5).map((b) => [`${b.index}:${b.begin}`, Buffer.alloc(b.block.length)]));
    const targets = new Map(wanted);
    const msgs: Message[] = [];
    const expectLog: string[] = [];
    blocks.forEach((b, i) => {
      msgs.push({ type: 'piece', ...b }, { type: 'have', index: i }, { type: 'keep-alive' });
      if (i !== 5) expectLog.push(`block ${b.index}:${b.begin}`);
      expectLog.push(`have ${i}`, 'keep-alive');
    });
    msgs.push({ type: 'bitfield', bits: randomBytes(300) }, { type: 'choke' });
    expectLog.push(label(msgs.at(-2)!), 'choke');
    const log: string[] = [];
    const p = new MessageParser({ maxMessage: 16384 + 9, blocks: sinkFor(wanted, log) });
    feedReused(p, Buffer.concat(msgs.map(encode)), (m) => void log.push(label(m)), round % 2 ? 7 : 40_000);
    assert.deepEqual(log, expectLog);
    assert.equal(wanted.size, 0);
    blocks.forEach((b, i) => i !== 5 && assert.ok(targets.get(`${b.index}:${b.begin}`)!.equals(b.block), `block ${i}`));
    assert.equal(p.buffered, 0);
  }
});

test('a request withdrawn while its payload arrives gets nothing more written, and no arrival', () => {
  const block = randomBytes(16384);
  const target = Buffer.alloc(16384);
  const wanted = new Map([['4:0', target]]);
  const log: string[] = [];
  const p = new MessageParser({ maxMessage: 16384 + 9, blocks: sinkFor(wanted, log) });
  const x = encode({ type: 'piece', index: 4, begin: 0, block });
  p.feed(x.subarray(0, 13 + 1000), () => {});
  assert.ok(target.subarray(0, 1000).equals(block.subarray(0, 1000)), 'the first 1000 bytes of the block are written into the target as they arrive');
  wanted.delete('4:0'); // withdrawn
  p.feed(x.subarray(13 + 1000), () => {});
  assert.ok(target.subarray(1000).equals(Buffer.alloc(16384 - 1000)), 'nothing written after the withdrawal');
  assert.deepEqual(log, []);
  const messages = p.push(encode({ type: 'unchoke' }));
  assert.deepEqual(messages, [{ type: 'unchoke' }], 'the stream goes on after the dropped payload');
});

test('unrequested, wrong-length and empty blocks are dropped without a message; a too-short piece is an error', () => {
  const log: string[] = [];
  const wanted = new Map([['1:0', Buffer.alloc(10)]]);
  const p = new MessageParser({ maxMessage: 1000, blocks: sinkFor(wanted, log) });
  const got = p.push(Buffer.concat([encode({ type: 'piece', index: 2, begin: 0, block: Buffer.alloc(10) }), encode({ type: 'piece', index: 1, begin: 0, block: Buffer.alloc(9) }), encode({ type: 'piece', index: 1, begin: 0, block: Buffer.alloc(0) }), encode({ type: 'interested' })]));
  assert.deepEqual(got, [{ type: 'interested' }]);
  assert.deepEqual(log, []);
  assert.equal(wanted.size, 1);
  const short = Buffer.from([0, 0, 0, 5, 7, 0, 0, 0, 1]);
  assert.throws(() => new MessageParser({ maxMessage: 1000, blocks: sinkFor(wanted, log) }).push(short), WireError);
  // The same, one byte at a time (the header spans chunks).
  const q = new MessageParser({ maxMessage: 1000, blocks: sinkFor(wanted, log) });
  assert.throws(() => {
    for (const b of short) q.push(Buffer.from([b]));
  }, WireError);
});

test('feed stops at once when the handler returns false', () => {
  const p = new MessageParser({ maxMessage: 100 });
  const seen: string[] = [];
  p.feed(Buffer.concat([encode({ type: 'choke' }), encode({ type: 'unchoke' })]), (m) => {
    seen.push(m.type);
    return false;
  });
  assert.deepEqual(seen, ['choke']);
});

test('a length prefix over the bound is refused before its body, with or without a sink', () => {
  for (const blocks of [undefined, sinkFor(new Map(), [])]) {
    const p = new MessageParser({ maxMessage: 16384 + 9, blocks });
    const h = Buffer.from([0, 0, 0x40, 0x0a, 7]); // 16394 bytes, a piece
    assert.throws(() => p.push(h), WireError);
  }
});
