/** The two handshake machines against each other in memory: no sockets, every byte split. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MseInitiator } from '../../../src/peer/mse/initiator.ts';
import { type EncryptionPolicy, MseError } from '../../../src/peer/mse/policy.ts';
import { MseResponder } from '../../../src/peer/mse/responder.ts';

const IH = randomBytes(20);
const OTHER = randomBytes(20);

/** Pass bytes between the machines in pieces of `piece` bytes until both are done. */
function pair(a: MseInitiator, b: MseResponder, piece = Infinity) {
  const feed = (bytes: Buffer[], into: (c: Buffer) => Buffer[]) => {
    const all = Buffer.concat(bytes);
    const out: Buffer[] = [];
    const step = Math.min(piece, all.length);
    for (let at = 0; at < all.length; at += step) out.push(...into(all.subarray(at, at + step)));
    return out;
  };
  let toB = [a.opening()];
  for (let round = 0; round < 4 && !(a.result && b.result); round++) {
    const toA = b.result ? [] : feed(toB, (c) => b.receive(c));
    toB = a.result ? [] : feed(toA, (c) => a.receive(c));
  }
  return { a: a.result, b: b.result };
}

const initiator = (policy: EncryptionPolicy, ia?: Buffer) => new MseInitiator({ policy, infoHash: IH, initialPayload: ia });
const responder = (policy: EncryptionPolicy) => new MseResponder({ policy, infoHashes: () => [OTHER, IH] });

test('RC4 is chosen (prefer) and IA arrives, whatever the chunking (1 byte, 7 bytes, whole)', () => {
  const ia = Buffer.from('\x13BitTorrent protocol and the rest of a handshake', 'latin1');
  for (const piece of [1, 7, Infinity]) {
    const { a, b } = pair(initiator('prefer', ia), responder('prefer'), piece);
    assert.ok(a && b, `piece ${piece}`);
    assert.equal(a.selected, 'rc4');
    assert.equal(b.selected, 'rc4');
    assert.ok(b.infoHash.equals(IH), `piece ${piece}: B found the info hash`);
    assert.ok(b.initial.equals(ia), `piece ${piece}: B got IA`);
    // Both keystreams line up: what A encrypts, B decrypts, and back.
    const msg = randomBytes(1000);
    assert.ok(b.decrypt.copy(a.encrypt.copy(msg)).equals(msg), 'what A encrypts, B decrypts');
    assert.ok(a.decrypt.copy(b.encrypt.copy(msg)).equals(msg), 'what B encrypts, A decrypts');
  }
});

test('policy pairs: which succeed and with what, which fail', () => {
  const outcomes: Record<string, string> = {};
  for (const ip of ['allow', 'prefer', 'require'] as const) {
    for (const rp of ['allow', 'prefer', 'require'] as const) {
      const { a, b } = pair(initiator(ip), responder(rp));
      outcomes[`${ip}->${rp}`] = a && b && a.selected === b.selected ? a.selected : 'failed';
    }
  }
  // RC4 is offered by every initiator policy; a responder that allows takes plaintext when offered too.
  for (const [k, v] of Object.entries(outcomes)) assert.equal(v, k === 'allow->allow' || k === 'prefer->allow' ? 'plaintext' : 'rc4', k);
  assert.throws(() => initiator('off'), MseError);
  assert.throws(() => responder('off'), MseError);
});

test('bytes that follow the handshake are handed over decrypted, not lost', () => {
  // A's first payload after IA, B's payload after its answer, arriving in the same chunks.
  const ia = Buffer.from('handshake');
  const a = initiator('require', ia);
  const b = responder('require');
  const toB = a.opening();
  const bOut = Buffer.concat(b.receive(toB));
  const aOut = Buffer.concat(a.receive(bOut)); // sync hash ... ENCRYPT(IA)
  const resultOfA = () => a.result; // read afresh: the machine fills it in later
  assert.equal(resultOfA(), null);
  const laterA = Buffer.from('first message from A');
  // A already has its keystream past IA: what it would write next is encrypted with it.
  const answer = Buffer.concat(b.receive(Buffer.concat([aOut, internalEncrypt(a, laterA)])));
  assert.ok(b.result, "B has a result after A's third message");
  assert.ok(b.result.initial.equals(Buffer.concat([ia, laterA])), "B's initial is IA and A's later message, decrypted");
  const laterB = Buffer.from('first message from B');
  a.receive(Buffer.concat([answer, b.result.encrypt.copy(laterB)]));
  assert.ok(resultOfA()?.rest.equals(laterB), "A's rest is B's first message, decrypted");
});

/** Encrypt with A's outgoing keystream (as the stream would after the handshake). */
function internalEncrypt(a: MseInitiator, data: Buffer): Buffer {
  return (a as unknown as { encrypt: { copy(d: Buffer): Buffer } }).encrypt.copy(data);
}

test('PadA and PadB at the 512-byte maximum synchronise; the responder finds SKEY among many', () => {
  const many = Array.from({ length: 500 }, () => randomBytes(20));
  many.push(IH);
  const a = new MseInitiator({ policy: 'prefer', infoHash: IH, padLength: 512 });
  const b = new MseResponder({ policy: 'prefer', infoHashes: () => many, padLength: 512 });
  const { a: ra, b: rb } = pair(a, b, 100);
  assert.ok(ra && rb && rb.infoHash.equals(IH), 'B finds the info hash among many');
});
