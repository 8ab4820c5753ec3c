/** Parsing and validating a metainfo (src/metainfo/metainfo.ts): single-file, multi-file, errors. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { decode, decodeWithSpans, encode, isDict } from '../../src/metainfo/bencode.ts';
import { parseMetainfo, MetainfoError, pieceSize, pieceHash, MAX_PIECE_LENGTH } from '../../src/metainfo/metainfo.ts';
import { encodeTorrent } from '../../src/metainfo/build.ts';


const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();
const lit = (s: string): Buffer => Buffer.from(s, 'latin1');

type Enc = Parameters<typeof encode>[0];
type Info = { [key: string]: Enc | undefined };

/** A valid single-file info dict: 100 bytes in 32-byte pieces (4 pieces). */
function singleInfo(over: Info = {}): Info {
  return { length: 100, name: 'file.bin', 'piece length': 32, pieces: Buffer.alloc(80, 1), ...over };
}

/** A valid multi-file info dict (lengths sum to 30, one 16-byte piece needs 2 hashes). */
function multiInfo(files: Info[], over: Info = {}): Info {
  const total = files.reduce((s, f) => s + (typeof f['length'] === 'number' ? f['length'] : 0), 0);
  const count = Math.max(1, Math.ceil(total / 16));
  return { name: 'dir', 'piece length': 16, pieces: Buffer.alloc(20 * count, 2), files, ...over };
}

function torrent(info: Enc | undefined, top: Info = {}): Buffer {
  return encode({ announce: 'http://tracker.example/announce', info, ...top });
}

function fails(input: Uint8Array, message: RegExp): void {
  assert.throws(
    () => parseMetainfo(input),
    (e: unknown) => {
      assert.ok(e instanceof MetainfoError, `expected MetainfoError, got ${String(e)}`);
      assert.equal(e.name, 'MetainfoError');
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('parseMetainfo: valid single-file torrents', () => {
  test('encodeTorrent output parses back with every field', () => {
    const pieces = randomBytes(20 * 3);
    const bytes = encodeTorrent({
      announce: 'http://127.0.0.1:8000/announce',
      name: 'data \u00e9.bin',
      length: 2 * 16384 + 5,
      pieceLength: 16384,
      pieces,
      urlList: ['http://seed.example/data.bin'],
      createdBy: 'tests',
      creationDate: 1700000000,
    });
    const m = parseMetainfo(bytes);
    assert.equal(m.announce, 'http://127.0.0.1:8000/announce');
    assert.equal(m.name, 'data \u00e9.bin');
    assert.equal(m.length, 2 * 16384 + 5);
    assert.equal(m.pieceLength, 16384);
    assert.equal(m.pieceCount, 3);
    assert.ok(m.pieces.equals(pieces), 'pieces are the pieces given');
    assert.equal(m.multiFile, false);
    assert.deepEqual(m.files, [{ path: [], length: 2 * 16384 + 5, offset: 0, pad: false }]);
    assert.deepEqual(m.urlList, ['http://seed.example/data.bin']);
    assert.deepEqual(m.announceList, []);
    assert.equal(m.private, false);
    // info_hash = SHA-1 of the exact info bytes in the file.
    const span = decodeWithSpans(bytes).spans.get('info');
    assert.ok(span, 'the info key has a span');
    const raw = bytes.subarray(span.start, span.end);
    assert.ok(m.rawInfo.equals(raw), 'rawInfo is the exact info bytes of the file');
    assert.ok(m.infoHash.equals(sha1(raw)), 'infoHash is the SHA-1 of the exact info bytes');
    assert.equal(m.infoHashHex, sha1(raw).toString('hex'));
    assert.equal(m.infoHash.length, 20);
    // The info dict has exactly the mktorrent keys.
    const info = decode(raw);
    assert.ok(isDict(info), 'info decodes to a dict');
    assert.deepEqual(Object.keys(info), ['length', 'name', 'piece length', 'pieces']);
  });

  test('keys outside info do not change the info_hash', () => {
    const base = { announce: 'http://a/announce', name: 'x', length: 10, pieceLength: 16384, pieces: Buffer.alloc(20, 7) };
    const h1 = parseMetainfo(encodeTorrent(base)).infoHash;
    const h2 = parseMetainfo(
      encodeTorrent({ ...base, announce: 'http://b/announce', createdBy: 'z', creationDate: 5, urlList: ['http://w/'] }),
    ).infoHash;
    assert.ok(h1.equals(h2), 'announce, created by, creation date and url-list do not change the info hash');
    const h3 = parseMetainfo(encodeTorrent({ ...base, name: 'y' })).infoHash;
    assert.ok(!h1.equals(h3), 'another name changes the info hash');
  });

  test('unknown keys and unsorted keys in info: hash is of the raw bytes, not a re-encoding', () => {
    const pieces = Buffer.alloc(20, 0xcd);
    // Unsorted: pieces, name, zzz, piece length, length, private. Plus an unknown key.
    const info = Buffer.concat([
      lit('d6:pieces20:'),
      pieces,
      lit('4:name5:hello3:zzzl1:a1:be12:piece lengthi16384e6:lengthi100e7:privatei1ee'),
    ]);
    const input = Buffer.concat([lit('d4:info'), info, lit('8:announce10:http://x/ae')]);
    const m = parseMetainfo(input);
    assert.ok(m.rawInfo.equals(info), 'rawInfo is the non-canonical info bytes as they stand');
    assert.ok(m.infoHash.equals(sha1(info)), 'infoHash is the SHA-1 of the non-canonical info bytes');
    // A canonical re-encoding (sorted keys) would give a different hash.
    const reencoded = encode(decode(info));
    assert.ok(!reencoded.equals(info), 'the canonical re-encoding differs from the input (the test needs it)');
    assert.ok(!m.infoHash.equals(sha1(reencoded)), 'infoHash is not the hash of the canonical re-encoding');
    assert.equal(m.name, 'hello');
    assert.equal(m.length, 100);
    assert.equal(m.private, true);
    assert.equal(m.announce, 'http://x/a');
  });

  test('rawInfo is a copy, not a view of the caller buffer', () => {
    const input = torrent(singleInfo());
    const m = parseMetainfo(input);
    const before = Buffer.from(m.rawInfo);
    input.fill(0);
    assert.ok(m.rawInfo.equals(before), 'rawInfo is a copy: zeroing the input leaves it unchanged');
    assert.ok(m.pieces.equals(Buffer.alloc(80, 1)), 'pieces is a copy: zeroing the input leaves it unchanged');
  });

  test('parses from a Uint8Array view at an offset', () => {
    const t = torrent(singleInfo());
    const backing = new Uint8Array(t.length + 7);
    backing.set(t, 7);
    const m = parseMetainfo(backing.subarray(7));
    assert.ok(m.infoHash.equals(parseMetainfo(t).infoHash), 'a Uint8Array view at offset 7 gives the same info hash as the Buffer');
  });

  test('announce-list tiers and url-list (string or list)', () => {
    const m = parseMetainfo(
      torrent(singleInfo(), {
        'announce-list': [['http://a/1', 'http://a/2'], ['udp://b/3'], [], 5, [Buffer.from([0xff]), 'http://c/4']],
        'url-list': ['http://w/1', 'http://w/2'],
      }),
    );
    assert.deepEqual(m.announceList, [['http://a/1', 'http://a/2'], ['udp://b/3'], ['http://c/4']]);
    assert.deepEqual(m.urlList, ['http://w/1', 'http://w/2']);
    const m2 = parseMetainfo(torrent(singleInfo(), { 'url-list': 'http://w/only' }));
    assert.deepEqual(m2.urlList, ['http://w/only']);
    const m3 = parseMetainfo(torrent(singleInfo(), { announce: undefined }));
    assert.equal(m3.announce, undefined);
  });

  test('private flag is only 1', () => {
    assert.equal(parseMetainfo(torrent(singleInfo({ private: 1 }))).private, true);
    assert.equal(parseMetainfo(torrent(singleInfo({ private: 0 }))).private, false);
  });
});

describe('parseMetainfo: validation errors', () => {
  test('not bencode', () => fails(lit('hello'), /not a torrent file/));
  test('truncated bencode', () => fails(torrent(singleInfo()).subarray(0, 30), /not a torrent file/));
  test('top level is not a dict', () => fails(encode([1, 2]), /top level is not a dictionary/));
  test('no info', () => fails(torrent(undefined), /no info dictionary/));
  test('info is not a dict', () => fails(torrent('abc'), /no info dictionary/));

  test('name missing', () => fails(torrent(singleInfo({ name: undefined })), /info\.name is missing/));
  test('name not a string', () => fails(torrent(singleInfo({ name: 5 })), /info\.name is missing or not a string/));
  test('name not UTF-8', () => fails(torrent(singleInfo({ name: Buffer.from([0x66, 0xff, 0xfe]) })), /info\.name is not valid UTF-8/));
  test('name ".."', () => fails(torrent(singleInfo({ name: '..' })), /info\.name "\.\." is "\.\."/));
  test('name "."', () => fails(torrent(singleInfo({ name: '.' })), /info\.name "\." is "\."/));
  test('name empty', () => fails(torrent(singleInfo({ name: '' })), /info\.name "" is empty/));
  test('name with "/"', () => fails(torrent(singleInfo({ name: 'a/b' })), /info\.name "a\/b" contains/));
  test('name with "\\"', () => fails(torrent(singleInfo({ name: 'a\\b' })), /info\.name .* contains/));
  test('name with NUL', () => fails(torrent(singleInfo({ name: 'a\0b' })), /info\.name .* contains/));
  test('name "/etc/passwd"', () => fails(torrent(singleInfo({ name: '/etc/passwd' })), /contains/));
  test('name longer than 255 bytes', () => fails(torrent(singleInfo({ name: 'x'.repeat(256) })), /longer than 255 bytes/));
  test('name of 255 bytes is fine', () => {
    assert.equal(parseMetainfo(torrent(singleInfo({ name: 'x'.repeat(255) }))).name.length, 255);
  });

  test('piece length 0', () => fails(torrent(singleInfo({ 'piece length': 0 })), /piece length is zero/));
  test('piece length negative', () => fails(torrent(singleInfo({ 'piece length': -16384 })), /piece length is negative/));
  test('piece length missing', () => fails(torrent(singleInfo({ 'piece length': undefined })), /piece length is missing or not an integer/));
  test('piece length a string', () => fails(torrent(singleInfo({ 'piece length': '16384' })), /piece length is missing or not an integer/));
  test('piece length too large', () => {
    fails(torrent(singleInfo({ 'piece length': 2 ** 29 })), /piece length .* larger than/);
    fails(torrent(singleInfo({ 'piece length': MAX_PIECE_LENGTH + 1 })), /larger than/);
  });
  test('piece length at MAX_PIECE_LENGTH is fine', () => {
    const m = parseMetainfo(torrent(singleInfo({ 'piece length': MAX_PIECE_LENGTH, pieces: Buffer.alloc(20) })));
    assert.equal(m.pieceLength, MAX_PIECE_LENGTH);
    assert.equal(m.pieceCount, 1);
  });

  test('pieces missing', () => fails(torrent(singleInfo({ pieces: undefined })), /info\.pieces is missing or not a string/));
  test('pieces not a string', () => fails(torrent(singleInfo({ pieces: [Buffer.alloc(20)] })), /info\.pieces is missing/));
  test('pieces not a multiple of 20', () => {
    fails(torrent(singleInfo({ pieces: Buffer.alloc(79) })), /not a multiple of 20/);
    fails(torrent(singleInfo({ pieces: Buffer.alloc(81) })), /not a multiple of 20/);
  });
  test('too few pieces for the length', () => fails(torrent(singleInfo({ pieces: Buffer.alloc(60) })), /holds 3 hashes but the length needs 4/));
  test('too many pieces for the length', () => fails(torrent(singleInfo({ pieces: Buffer.alloc(100) })), /holds 5 hashes but the length needs 4/));
  test('empty pieces for non-empty data', () => fails(torrent(singleInfo({ pieces: Buffer.alloc(0) })), /holds 0 hashes but the length needs 4/));
  test('piece count boundary: length an exact multiple of the piece length', () => {
    assert.equal(parseMetainfo(torrent(singleInfo({ length: 96, pieces: Buffer.alloc(60) }))).pieceCount, 3);
    fails(torrent(singleInfo({ length: 97, pieces: Buffer.alloc(60) })), /needs 4/);
  });

  test('length negative', () => fails(torrent(singleInfo({ length: -1 })), /info\.length is negative/));
  test('length zero', () => fails(torrent(singleInfo({ length: 0, pieces: Buffer.alloc(0) })), /total length 0/));
  test('length missing (no files either)', () => fails(torrent(singleInfo({ length: undefined })), /info\.length is missing/));
  test('both length and files', () =>
    fails(torrent(singleInfo({ files: [{ length: 100, path: ['a'] }] })), /both "length" and "files"/));
  test('files empty list', () => fails(torrent(multiInfo([])), /info\.files is not a non-empty list/));
  test('files not a list', () => fails(torrent(multiInfo([], { files: 'x' })), /info\.files is not a non-empty list/));
  test('file entry not a dict', () => fails(torrent(multiInfo([], { files: [5] })), /info\.files\[0\] is not a dictionary/));
  test('file length missing / negative', () => {
    fails(torrent(multiInfo([{ length: 10, path: ['a'] }, { path: ['b'] }])), /info\.files\[1\]\.length is missing/);
    fails(torrent(multiInfo([{ length: 10, path: ['a'] }, { length: -3, path: ['b'] }])), /info\.files\[1\]\.length is negative/);
  });
  test('file path missing / empty list', () => {
    fails(torrent(multiInfo([{ length: 10 }])), /info\.files\[0\]\.path is not a non-empty list/);
    fails(torrent(multiInfo([{ length: 10, path: [] }])), /info\.files\[0\]\.path is not a non-empty list/);
  });
  test('path element ".."', () => fails(torrent(multiInfo([{ length: 10, path: ['..', 'etc'] }])), /path element "\.\." is "\.\."/));
  test('path element "."', () => fails(torrent(multiInfo([{ length: 10, path: ['a', '.'] }])), /path element "\." is "\."/));
  test('path element empty', () => fails(torrent(multiInfo([{ length: 10, path: ['a', ''] }])), /path element "" is empty/));
  test('path element with "/"', () => fails(torrent(multiInfo([{ length: 10, path: ['a/../../b'] }])), /path element .* contains/));
  test('path element with "\\"', () => fails(torrent(multiInfo([{ length: 10, path: ['..\\x'] }])), /contains/));
  test('path element with NUL', () => fails(torrent(multiInfo([{ length: 10, path: ['a\0'] }])), /contains/));
  test('path element not UTF-8', () =>
    fails(torrent(multiInfo([{ length: 10, path: [Buffer.from([0xc3])] }])), /info\.files\[0\]\.path\[0\] is not valid UTF-8/));
  test('path element not a string', () => fails(torrent(multiInfo([{ length: 10, path: [1] }])), /path\[0\] is missing or not a string/));
  test('duplicate paths', () =>
    fails(
      torrent(multiInfo([{ length: 10, path: ['a', 'b'] }, { length: 5, path: ['c'] }, { length: 10, path: ['a', 'b'] }])),
      /path "a\/b" twice/,
    ));
  test('a file that is also a folder (file first)', () =>
    fails(torrent(multiInfo([{ length: 10, path: ['a'] }, { length: 10, path: ['a', 'b'] }])), /file "a" that is also a folder/));
  test('a file that is also a folder (file last, deeper)', () =>
    fails(torrent(multiInfo([{ length: 10, path: ['a', 'b', 'c'] }, { length: 10, path: ['a', 'b'] }])), /file "a\/b" that is also a folder/));
  test('similar names are not folders of each other', () => {
    const m = parseMetainfo(torrent(multiInfo([{ length: 10, path: ['a'] }, { length: 10, path: ['ab', 'c'] }, { length: 10, path: ['a.b'] }])));
    assert.equal(m.files.length, 3);
  });

  test('v2-only torrent gives the v2 message', () => {
    const v2 = { name: 'x', 'piece length': 16384, 'meta version': 2, 'file tree': { x: { '': { length: 10, 'pieces root': Buffer.alloc(32) } } } };
    fails(torrent(v2), /v2-only torrent/);
    fails(torrent({ name: 'x', 'piece length': 16384, 'meta version': 2 }), /v2-only/);
    fails(torrent({ name: 'x', 'piece length': 16384, 'file tree': {} }), /v2-only/);
  });

  test('hybrid v1+v2 torrent (has pieces) is read as v1', () => {
    const m = parseMetainfo(torrent(singleInfo({ 'meta version': 2, 'file tree': { 'file.bin': {} } })));
    assert.equal(m.length, 100);
  });
});

describe('parseMetainfo: multi-file', () => {
  test('offsets accumulate; pad files flagged and exempt from the duplicate check', () => {
    const files: Info[] = [
      { length: 5, path: ['a.txt'] },
      { length: 11, path: ['.pad', '11'], attr: 'p' },
      { length: 16, path: ['sub', 'b.bin'] },
      { length: 0, path: ['empty'] },
      { length: 3, path: ['.pad', '11'], attr: 'p' }, // same path as the first pad file: allowed
      { length: 2, path: ['sub', 'c'], attr: 'x' },
    ];
    const m = parseMetainfo(torrent(multiInfo(files)));
    assert.equal(m.multiFile, true);
    assert.equal(m.name, 'dir');
    assert.equal(m.length, 37);
    assert.equal(m.pieceCount, 3);
    assert.deepEqual(m.files, [
      { path: ['a.txt'], length: 5, offset: 0, pad: false },
      { path: ['.pad', '11'], length: 11, offset: 5, pad: true },
      { path: ['sub', 'b.bin'], length: 16, offset: 16, pad: false },
      { path: ['empty'], length: 0, offset: 32, pad: false },
      { path: ['.pad', '11'], length: 3, offset: 32, pad: true },
      { path: ['sub', 'c'], length: 2, offset: 35, pad: false },
    ]);
  });

  test('a pad file may sit on the path of a real file', () => {
    const m = parseMetainfo(torrent(multiInfo([{ length: 5, path: ['a'] }, { length: 3, path: ['a'], attr: 'p' }])));
    assert.deepEqual(
      m.files.map((f) => f.pad),
      [false, true],
    );
  });

  test('multi-file total length 0 is refused', () => {
    fails(torrent(multiInfo([{ length: 0, path: ['a'] }], { pieces: Buffer.alloc(0) })), /total length 0/);
  });

  test('multi-file piece count is checked against the summed length', () => {
    fails(torrent(multiInfo([{ length: 20, path: ['a'] }, { length: 20, path: ['b'] }], { pieces: Buffer.alloc(40) })), /holds 2 hashes but the length needs 3/);
  });
});

describe('piece helpers', () => {
  test('pieceSize: last piece is short, others full', () => {
    const m = { pieceLength: 32, length: 100 };
    assert.deepEqual([0, 1, 2, 3].map((i) => pieceSize(m, i)), [32, 32, 32, 4]);
    const exact = { pieceLength: 32, length: 96 };
    assert.equal(pieceSize(exact, 2), 32);
    assert.equal(pieceSize({ pieceLength: 16384, length: 1 }, 0), 1);
  });

  test('pieceHash returns the 20 bytes of that piece', () => {
    const pieces = Buffer.concat([Buffer.alloc(20, 1), Buffer.alloc(20, 2), Buffer.alloc(20, 3)]);
    assert.ok(pieceHash({ pieces }, 0).equals(Buffer.alloc(20, 1)), 'piece 0 hash is the first 20 bytes');
    assert.ok(pieceHash({ pieces }, 2).equals(Buffer.alloc(20, 3)), 'piece 2 hash is the third 20 bytes');
    const m = parseMetainfo(torrent(singleInfo({ pieces: Buffer.concat([pieces, Buffer.alloc(20, 4)]) })));
    assert.ok(pieceHash(m, 3).equals(Buffer.alloc(20, 4)), 'piece 3 hash of a parsed torrent is its fourth 20 bytes');
    assert.equal(pieceSize(m, 3), 4);
  });
});
