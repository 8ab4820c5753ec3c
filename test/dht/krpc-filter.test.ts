import test from 'node:test';
import assert from 'node:assert/strict';
import { encode, decode, isDict, isList } from '../../src/metainfo/bencode.ts';
import { fitOutgoing, krpcRefusal, MAX_OUTGOING, MAX_TOKEN, MAX_VALUES } from '../../src/dht/krpc-filter.ts';

const ID = Buffer.alloc(20, 0xab);
const query = (q: string, a: Record<string, unknown>) => encode({ t: Buffer.from('aa'), y: 'q', q, a: { id: ID, ...a } } as never);
const answer = (r: Record<string, unknown>) => encode({ t: Buffer.from('aa'), y: 'r', r: { id: ID, ...r } } as never);
const compactPeer = (i: number) => Buffer.from([127, 0, (i >> 8) & 255, i & 255, 0x1a, 0xe1]);

test('the four BEP 5 queries and their answers pass', () => {
  assert.equal(krpcRefusal(query('ping', {})), null);
  assert.equal(krpcRefusal(query('find_node', { target: ID })), null);
  assert.equal(krpcRefusal(query('get_peers', { info_hash: ID })), null);
  assert.equal(krpcRefusal(query('announce_peer', { info_hash: ID, port: 6881, token: Buffer.alloc(8), implied_port: 0 })), null);
  assert.equal(krpcRefusal(answer({ nodes: Buffer.alloc(26 * 8), token: Buffer.alloc(20) })), null);
  assert.equal(krpcRefusal(answer({ values: [compactPeer(1), compactPeer(2)], token: Buffer.alloc(4) })), null);
  assert.equal(krpcRefusal(encode({ t: Buffer.from('aa'), y: 'e', e: [201, 'A Generic Error Ocurred'] })), null);
});

test('malformed bencode, deep nesting and non-dictionaries are refused before any library sees them', () => {
  for (const bad of ['l-3:', 'd1:t2:aa', 'd1:t4:abe', 'i03e', 'de', '4:ab', 'd1:ti01ee']) assert.notEqual(krpcRefusal(Buffer.from(bad)), null, bad);
  const deep = Buffer.from(`d1:a${'l'.repeat(5000)}${'e'.repeat(5000)}1:t2:aa1:y1:qe`);
  assert.match(krpcRefusal(deep)!, /nesting|bytes/);
  assert.match(krpcRefusal(Buffer.from('d1:ad2:id20:' + 'a'.repeat(20) + 'e1:q4:ping1:t2:aa1:y1:q' + '1:x' + 'l'.repeat(10) + 'e'.repeat(10) + 'e'))!, /nesting/);
  // a uTP packet never starts with 'd'; a 'd' that is not bencode is refused all the same
  assert.notEqual(krpcRefusal(Buffer.from([0x64, 0x01, 0x02])), null);
});

test('fields the library calls Buffer methods on must be byte strings of the right size', () => {
  // each of these throws out of bittorrent-dht's UDP handler (token.equals, info_hash.toString('hex'), r.id.equals)
  assert.match(krpcRefusal(query('announce_peer', { info_hash: ID, port: 1, token: 5 }))!, /token/);
  assert.match(krpcRefusal(query('get_peers', { info_hash: 5 }))!, /info_hash/);
  assert.match(krpcRefusal(query('find_node', { target: [] }))!, /target/);
  assert.match(krpcRefusal(encode({ t: Buffer.from('aa'), y: 'r', r: { id: 7 } }))!, /node id/);
  assert.match(krpcRefusal(query('ping', { id: Buffer.alloc(19) }))!, /node id/);
  assert.match(krpcRefusal(query('announce_peer', { info_hash: ID, port: 70000, token: Buffer.alloc(4) }))!, /port/);
  assert.match(krpcRefusal(encode({ t: 5, y: 'q', q: 'ping', a: { id: ID } }))!, /transaction/);
  assert.match(krpcRefusal(encode({ t: Buffer.from('aa'), y: 'z' }))!, /type/);
});

test('huge tokens, node lists and peer lists are refused; BEP 44 and unknown queries are not served', () => {
  assert.match(krpcRefusal(answer({ token: Buffer.alloc(MAX_TOKEN + 1) }))!, /token/);
  assert.match(krpcRefusal(query('announce_peer', { info_hash: ID, port: 1, token: Buffer.alloc(MAX_TOKEN + 1) }))!, /token/);
  assert.match(krpcRefusal(answer({ nodes: Buffer.alloc(26 * 33) }))!, /nodes/);
  assert.match(krpcRefusal(answer({ nodes: Buffer.alloc(27) }))!, /nodes/);
  assert.match(krpcRefusal(answer({ values: Array.from({ length: MAX_VALUES + 1 }, (_, i) => compactPeer(i)) }))!, /values|bytes/);
  assert.match(krpcRefusal(answer({ values: [Buffer.alloc(18)] }))!, /values/);
  assert.match(krpcRefusal(answer({ values: Buffer.alloc(60) }))!, /values/);
  assert.match(krpcRefusal(Buffer.alloc(1501, 0x64))!, /bytes/);
  assert.match(krpcRefusal(query('put', { v: Buffer.from('x'), token: Buffer.alloc(4) }))!, /not served/);
  assert.match(krpcRefusal(query('get', { target: ID }))!, /not served/);
});

test('a __proto__ key anywhere is refused (the library decodes into plain objects)', () => {
  const raw = Buffer.from(`d1:ad9:__proto__d1:xi1ee2:id20:${'a'.repeat(20)}e1:q4:ping1:t2:aa1:y1:qe`);
  assert.match(krpcRefusal(raw)!, /__proto__/);
});

test('our answers are fitted to one datagram: a long values list is cut to a random sample', () => {
  const big = answer({ token: Buffer.alloc(20), values: Array.from({ length: 400 }, (_, i) => compactPeer(i)) });
  assert.ok(big.length > MAX_OUTGOING, `400 values make an answer over one datagram: ${big.length} bytes, limit ${MAX_OUTGOING}`);
  const fitted = fitOutgoing(big)!;
  assert.ok(fitted.length <= MAX_OUTGOING, `the fitted answer fits one datagram: ${fitted.length} bytes, limit ${MAX_OUTGOING}`);
  const m = decode(fitted);
  assert.ok(isDict(m) && isDict(m['r']) && isList(m['r']['values']), 'the fitted answer is still a dict with r.values a list');
  const values = m['r']['values'];
  assert.equal(values.length, MAX_VALUES / 2);
  assert.equal(new Set(values.map((v) => (v as Buffer).toString('hex'))).size, values.length);
  const small = query('ping', {});
  assert.equal(fitOutgoing(small), small);
  assert.equal(fitOutgoing(Buffer.alloc(2000, 0x64)), null);
});
