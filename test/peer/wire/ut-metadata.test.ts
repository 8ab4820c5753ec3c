import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUtMetadata, encodeUtMetadata, leadingDictEnd, metadataPieceCount, metadataPieceLength, METADATA_PIECE } from '../../../src/peer/wire/ut-metadata.ts';
import { WireError } from '../../../src/peer/wire/messages.ts';

test('request, reject and data round-trip; BEP 9 byte layout', () => {
  assert.equal(encodeUtMetadata({ type: 'request', piece: 0 }).toString(), 'd8:msg_typei0e5:piecei0ee');
  assert.deepEqual(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei0ee')), { type: 'request', piece: 0 });
  assert.deepEqual(decodeUtMetadata(encodeUtMetadata({ type: 'reject', piece: 3 })), { type: 'reject', piece: 3 });
  const data = Buffer.from('d4:name1:ae'.repeat(10));
  const wire = encodeUtMetadata({ type: 'data', piece: 1, totalSize: METADATA_PIECE + data.length, data });
  const head = `d8:msg_typei1e5:piecei1e10:total_sizei${METADATA_PIECE + data.length}ee`;
  assert.equal(wire.subarray(0, head.length).toString(), head);
  const m = decodeUtMetadata(wire);
  assert.equal(m.type, 'data');
  assert.ok(
    m.type === 'data' && m.data.equals(data) && m.totalSize === METADATA_PIECE + data.length && m.piece === 1,
    `a data message for piece 1 with total_size ${METADATA_PIECE + data.length}: ${JSON.stringify({ ...m, data: undefined })}`,
  );
});

test('the raw data may itself look like bencode: the dict end is the first top-level e', () => {
  const data = Buffer.from('ee}d1:xe');
  const m = decodeUtMetadata(Buffer.concat([Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei8ee'), data]));
  assert.ok(m.type === 'data' && m.data.equals(data), 'the data is everything after the first top-level e');
  // A string value whose bytes hold an 'e' does not end the dict early.
  const dict = 'd1:x3:eee8:msg_typei2e5:piecei0ee';
  assert.equal(leadingDictEnd(Buffer.from(dict + 'XYZ')), dict.length);
});

test('an unknown msg_type is ignored (BEP 9), not an error', () => {
  assert.deepEqual(decodeUtMetadata(Buffer.from('d8:msg_typei7e5:piecei0ee')), { type: 'unknown', msgType: 7 });
});

test('piece counts and lengths', () => {
  assert.equal(metadataPieceCount(1), 1);
  assert.equal(metadataPieceCount(METADATA_PIECE), 1);
  assert.equal(metadataPieceCount(METADATA_PIECE + 1), 2);
  assert.equal(metadataPieceLength(METADATA_PIECE + 5, 0), METADATA_PIECE);
  assert.equal(metadataPieceLength(METADATA_PIECE + 5, 1), 5);
});

const junk: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['not a dict', Buffer.from('li1ee')],
  ['no end within 256 bytes', Buffer.concat([Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei5e'), Buffer.alloc(300, 0x61)])],
  ['a huge string length in the dict', Buffer.from('d99999999:x')],
  ['nested deeper than 4', Buffer.from('d1:xlllllleeeeeee')],
  ['a bad byte', Buffer.from('d1:x!e')],
  ['non-canonical integer', Buffer.from('d8:msg_typei01e5:piecei0ee')],
  ['negative piece', Buffer.from('d8:msg_typei0e5:piecei-1ee')],
  ['piece over 2^31', Buffer.from('d8:msg_typei0e5:piecei9999999999ee')],
  ['missing piece', Buffer.from('d8:msg_typei0ee')],
  ['data without total_size', Buffer.from('d8:msg_typei1e5:piecei0eeabc')],
  ['duplicate key', Buffer.from('d5:piecei0e5:piecei1e8:msg_typei0ee')],
];
for (const [what, bytes] of junk) {
  test(`junk ut_metadata message: ${what} -> WireError`, () => {
    assert.throws(() => decodeUtMetadata(bytes), WireError);
  });
}
