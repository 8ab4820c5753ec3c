/**
 * The responder and initiator machines fed random and mutated bytes in random chunks: the only
 * outcomes allowed are "need more", a result, or MseError; never another exception, a hang, or
 * an inbox growing past the spec's windows.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { MseInitiator } from '../../../src/peer/mse/initiator.ts';
import { MseError } from '../../../src/peer/mse/policy.ts';
import { MseResponder } from '../../../src/peer/mse/responder.ts';
import { check, only } from '../../support/fuzz.ts';
import { rawInitiator } from './raw-mse.ts';

const IH = randomBytes(20);
const chunked = fc.array(fc.uint8Array({ minLength: 0, maxLength: 700 }), { minLength: 1, maxLength: 8 });

/** Feed chunks until the machine fails or finishes; how much it holds is checked after each. */
function feed(m: MseResponder | MseInitiator, chunks: Uint8Array[]): void {
  for (const c of chunks) {
    const r = only(MseError, 'receive', () => m.receive(Buffer.from(c)));
    if (!r.ok || m.result) return;
    // Unconsumed bytes never exceed Ya/Yb + the largest window + one chunk.
    const held = (m as unknown as { inbox: { length: number } }).inbox.length;
    assert.ok(held <= 96 + 532 + 1024 + 700, `holds ${held} bytes`);
  }
}

test('responder: random bytes in random chunks', (t) => {
  check(t, 'responder random', fc.property(chunked, (chunks) => feed(new MseResponder({ policy: 'allow', infoHashes: () => [IH] }), chunks)), 300);
});

test('initiator: random bytes in random chunks', (t) => {
  check(t, 'initiator random', fc.property(chunked, (chunks) => {
    const m = new MseInitiator({ policy: 'prefer', infoHash: IH });
    m.opening();
    feed(m, chunks);
  }), 300);
});

test('responder: a valid handshake with bytes flipped, cut or appended', (t) => {
  const mutation = fc.record({
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
    cut: fc.nat({ max: 200 }),
    extra: fc.uint8Array({ maxLength: 300 }),
    split: fc.nat({ max: 300 }),
  });
  check(t, 'responder mutated', fc.property(mutation, fc.integer({ min: 0, max: 3 }), (mu, provide) => {
    const b = new MseResponder({ policy: 'allow', infoHashes: () => [IH] });
    const a = rawInitiator({ infoHash: IH, provide, padALength: mu.split, ia: Buffer.from('ia') });
    const first = only(MseError, 'Ya', () => b.receive(a.opening));
    if (!first.ok) return;
    const third = Buffer.from(a.third(Buffer.concat(first.value)).bytes);
    third[mu.at % third.length]! ^= mu.xor;
    const sent = Buffer.concat([third.subarray(0, Math.max(0, third.length - mu.cut)), mu.extra]);
    feed(b, [sent.subarray(0, mu.split), sent.subarray(mu.split)]);
    // A flipped byte must not be accepted as the same handshake with a different torrent.
    if (b.result) assert.ok(b.result.infoHash.equals(IH), 'a mutated handshake accepted only for the same info hash');
  }), 200);
});
