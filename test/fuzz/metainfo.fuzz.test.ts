/**
 * Property-based (fuzz) tests of parseMetainfo and the storage layout of what it accepts
 * (src/metainfo/metainfo.ts, src/storage/layout.ts, src/storage/safe-path.ts): hostile and random
 * input gives a value or the one expected error, never anything else, and never a hang. Seeds and
 * case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MAX_PIECE_LENGTH, type Metainfo, MetainfoError, parseMetainfo } from '../../src/metainfo/metainfo.ts';
import { safeJoin, unsafeComponentReason } from '../../src/storage/safe-path.ts';
import { partBaseName, storageFiles } from '../../src/storage/layout.ts';
import { type Mutation, anyBytes, b, check, mutate, mutations, only } from '../support/fuzz.ts';
import { type G, binaryKey, bs, gValue, int, realTorrent, refEncode } from '../support/bencode-oracle.ts';

/** An independent statement of the rule: a path element that can be written under a folder. */
function safeElement(c: string): boolean {
  return c.length > 0 && c !== '.' && c !== '..' && !/[/\\\0]/.test(c) && Buffer.byteLength(c) <= 255;
}

const HOSTILE = [
  '..', '.', '', '/', '\\', '\0', 'a/b', 'a\\b', 'a\0b', '../etc', '..\\..\\x', '/etc/passwd', '/', '//', 'C:', 'C:\\Windows', 'c:/x',
  'CON', 'con', 'NUL', 'nul.txt', 'AUX', 'PRN', 'COM1', 'LPT9', 'CON.', ' ', '...', '. ', '.hidden', '~', '-rf', '%2e%2e', '..%2f', '%00',
  'a', 'b', 'x', 'file.txt', 'dir', '\u202egnp.exe', 'ﬁ', 'e\u0301', '\u00e9', '\uFEFF', 'x'.repeat(254), 'x'.repeat(255), 'x'.repeat(256),
  '\u00e9'.repeat(127), '\u00e9'.repeat(128), 'x'.repeat(4096),
];
const component: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: anyBytes(4) }, // invalid UTF-8 too
);

const pieceLengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 2, 3, 1000, 16384, 32768, 262144) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, -16384, MAX_PIECE_LENGTH, MAX_PIECE_LENGTH + 1, Number.MAX_SAFE_INTEGER) },
);
const lengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 70000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 40, Number.MAX_SAFE_INTEGER, Math.floor(Number.MAX_SAFE_INTEGER / 2) + 1) },
);

interface TorrentShape {
  name: Buffer;
  pieceLength: number;
  single: number | null;
  files: Array<{ length: number; path: Buffer[]; pad: boolean; extra: G | null }>;
  piecesMode: 'exact' | 'short' | 'long' | 'ragged' | 'huge-claim';
  announce: G | null;
  urlList: G | null;
  oddKeys: Array<[Buffer, G]>;
}

const torrentShape: fc.Arbitrary<TorrentShape> = fc.record({
  name: component,
  pieceLength: pieceLengthArb,
  single: fc.option(lengthArb, { freq: 3 }),
  files: fc.array(
    fc.record({
      length: lengthArb,
      path: fc.array(component, { minLength: 0, maxLength: 4 }),
      pad: fc.boolean(),
      extra: fc.option(gValue, { freq: 4 }),
    }),
    { minLength: 0, maxLength: 6 },
  ),
  piecesMode: fc.constantFrom('exact', 'exact', 'exact', 'exact', 'short', 'long', 'ragged', 'huge-claim'),
  announce: fc.option(gValue, { freq: 2 }),
  urlList: fc.option(gValue, { freq: 2 }),
  oddKeys: fc.uniqueArray(fc.tuple(binaryKey, gValue), { maxLength: 2, selector: (e) => e[0].toString('latin1') }),
});


function buildTorrent(s: TorrentShape): Buffer {
  const total = s.single ?? s.files.reduce((n, f) => n + Math.max(0, f.length), 0);
  const count = s.pieceLength > 0 ? Math.max(0, Math.ceil(total / s.pieceLength)) : 1;
  const pieceBytes =
    s.piecesMode === 'exact' ? count * 20 : s.piecesMode === 'short' ? Math.max(0, count - 1) * 20 : s.piecesMode === 'long' ? (count + 1) * 20 : s.piecesMode === 'ragged' ? count * 20 + 7 : 20;
  const info: Array<[Buffer, G]> = [
    [b('name'), bs(s.name)],
    [b('piece length'), int(s.pieceLength)],
    [b('pieces'), bs(Buffer.alloc(Math.min(pieceBytes, 1 << 20), 0xab))],
  ];
  if (s.single !== null) info.push([b('length'), int(s.single)]);
  else
    info.push([
      b('files'),
      {
        t: 'l',
        v: s.files.map((f): G => {
          const d: Array<[Buffer, G]> = [
            [b('length'), int(f.length)],
            [b('path'), { t: 'l', v: f.path.map(bs) }],
          ];
          if (f.pad) d.push([b('attr'), bs('p')]);
          if (f.extra) d.push([b('x-extra'), f.extra]);
          return { t: 'd', v: d };
        }),
      },
    ]);
  const top: Array<[Buffer, G]> = [[b('info'), { t: 'd', v: info }]];
  if (s.announce) top.push([b('announce'), s.announce]);
  if (s.urlList) top.push([b('url-list'), s.urlList]);
  for (const [k, v] of s.oddKeys) if (!top.some(([k2]) => k2.equals(k))) top.push([k, v]);
  return refEncode({ t: 'd', v: top });
}

const ROOT = path.resolve('/tmp/fuzz-root/downloads');

/** Everything a parsed torrent promises, checked from first principles. */
function metainfoInvariants(m: Metainfo, input: Buffer): void {
  assert.ok(Number.isSafeInteger(m.pieceLength) && m.pieceLength >= 1 && m.pieceLength <= MAX_PIECE_LENGTH, 'piece length in range');
  assert.equal(m.pieces.length, m.pieceCount * 20, 'pieceCount * 20 == pieces.length');
  assert.equal(m.pieceCount, Math.ceil(m.length / m.pieceLength), 'pieceCount == ceil(length / pieceLength)');
  assert.ok(Number.isSafeInteger(m.length) && m.length > 0, 'total length positive and safe');
  assert.ok(m.files.length >= 1, 'at least one file');
  let offset = 0;
  for (const f of m.files) {
    assert.equal(f.offset, offset, 'file offsets are the running sum of lengths');
    assert.ok(Number.isSafeInteger(f.length) && f.length >= 0, `file length is a non-negative safe integer: ${f.length}`);
    offset += f.length;
    for (const c of f.path) {
      assert.ok(safeElement(c), `accepted an unsafe path element ${JSON.stringify(c)}`);
      assert.equal(unsafeComponentReason(c), null);
    }
    if (m.multiFile) assert.ok(f.path.length >= 1, 'a file of a multi-file torrent has a path of at least one element');
    else assert.deepEqual(f.path, []);
  }
  assert.equal(offset, m.length, 'lengths sum to the total');
  assert.ok(safeElement(m.name), `accepted an unsafe name ${JSON.stringify(m.name)}`);
  // The info_hash is the SHA-1 of the info value's bytes exactly as they stand in the input.
  assert.ok(input.includes(m.rawInfo), 'rawInfo is a slice of the input');
  assert.ok(m.infoHash.equals(createHash('sha1').update(m.rawInfo).digest()), 'infoHash is the SHA-1 of rawInfo');
  assert.equal(m.infoHashHex, m.infoHash.toString('hex'));
  // Files that are written: no duplicates, no file that is also a folder.
  const real = m.files.filter((f) => !f.pad).map((f) => f.path.join('/'));
  assert.equal(new Set(real).size, real.length, 'no duplicate paths');
  for (const p of real) for (const q of real) assert.ok(!q.startsWith(p + '/'), `${p} is a file and a folder`);
  // Storage: every path inside the download folder, distinct.
  const files = storageFiles(m, ROOT);
  const paths = files.map((f) => f.path).filter((p): p is string => p !== null);
  for (const p of paths) assert.ok(p.startsWith(ROOT + path.sep) && path.resolve(p) === p, `${p} escapes ${ROOT}`);
  assert.equal(new Set(paths).size, paths.length, 'storage paths are distinct');
}

test('parseMetainfo: random and hostile torrents give MetainfoError or a Metainfo whose invariants hold', (t) => {
  let accepted = 0;
  check(
    t,
    'structured torrents',
    fc.property(torrentShape, (s) => {
      const x = buildTorrent(s);
      const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
      const names = [s.name, ...(s.single === null ? s.files.flatMap((f) => f.path) : [])];
      const anyUnsafe = names.some((c) => {
        const text = c.toString('utf8');
        return !Buffer.from(text, 'utf8').equals(c) || !safeElement(text);
      });
      if (r.ok) {
        accepted++;
        metainfoInvariants(r.value, x);
        assert.ok(!anyUnsafe, 'a torrent with an unsafe name or path element was accepted');
      }
    }),
    5000,
  );
  t.diagnostic(`structured torrents accepted: ${accepted}`);
  assert.ok(accepted > 100, `too few valid torrents generated (${accepted}) for the invariants to mean much`);
});

test('parseMetainfo: mutations of real torrents and random bytes give MetainfoError or a consistent Metainfo', (t) => {
  let accepted = 0;
  check(
    t,
    'mutated torrents',
    fc.property(fc.oneof({ weight: 5, arbitrary: fc.tuple(realTorrent, mutations) }, { weight: 1, arbitrary: fc.tuple(anyBytes(200), fc.constant([] as Mutation[])) }), ([base, ms]) => {
      const x = mutate(base, ms);
      const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
      if (r.ok) {
        accepted++;
        metainfoInvariants(r.value, x);
      }
    }),
    5000,
  );
  t.diagnostic(`mutated torrents still accepted: ${accepted}`);
});

test('parseMetainfo: multi-file path elements from a hostile alphabet are never accepted when unsafe', (t) => {
  check(
    t,
    'hostile paths',
    fc.property(fc.array(fc.array(component, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (paths, pad) => {
      const s: TorrentShape = {
        name: b('root'),
        pieceLength: 16384,
        single: null,
        files: paths.map((p, i) => ({ length: 10 + i, path: p, pad: pad && i === 0, extra: null })),
        piecesMode: 'exact',
        announce: null,
        urlList: null,
        oddKeys: [],
      };
      const x = buildTorrent(s);
      const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
      const texts = paths.map((p) => p.map((c) => c.toString('utf8')));
      const validUtf8 = paths.every((p) => p.every((c) => Buffer.from(c.toString('utf8'), 'utf8').equals(c)));
      const allSafe = validUtf8 && texts.every((p) => p.every(safeElement));
      if (!allSafe) assert.equal(r.ok, false, `accepted unsafe paths ${JSON.stringify(texts)}`);
      if (r.ok) metainfoInvariants(r.value, x);
      // Even when the element check is bypassed, safeJoin keeps every join under the root.
      for (const p of texts) {
        try {
          const full = safeJoin(ROOT, p);
          assert.ok(full.startsWith(ROOT + path.sep), `safeJoin(${JSON.stringify(p)}) = ${full} escapes`);
        } catch (e) {
          assert.ok(!(e instanceof assert.AssertionError), (e as Error).message);
        }
      }
    }),
    5000,
  );
});

test(
  'parseMetainfo: for every accepted name the requester can store <base>.part and <base>.part.state (base: the name, or the info_hash when too long)',
  (t) => {
    check(
      t,
      'part names',
      fc.property(fc.integer({ min: 1, max: 255 }), (n) => {
        const name = 'x'.repeat(n);
        const x = buildTorrent({ name: b(name), pieceLength: 16384, single: 1000, files: [], piecesMode: 'exact', announce: null, urlList: null, oddKeys: [] });
        const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
        assert.ok(r.ok, `a ${n}-byte name is a valid file name`);
        const base = partBaseName(r.value);
        assert.ok(base === name || (n > 244 && base === r.value.infoHashHex), `base for a ${n}-byte name`);
        assert.doesNotThrow(() => storageFiles({ ...r.value, name: base }, ROOT, '.part'), `a ${n}-byte name accepted, but "<base>.part" cannot be stored`);
        assert.doesNotThrow(() => safeJoin(ROOT, [base + '.part.state']), `a ${n}-byte name accepted, but "<base>.part.state" cannot be stored`);
        assert.doesNotThrow(() => safeJoin(ROOT, [name]), 'the final name itself is storable');
      }),
      255,
    );
  },
);

test(
  'parseMetainfo: a valid UTF-8 name or path element comes back exactly as written (byte for byte)',
  (t) => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
      fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => '\uFEFF' + s),
    );
    check(
      t,
      'utf-8 names',
      fc.property(text, text, (name, element) => {
        fc.pre(safeElement(name) && safeElement(element) && element !== name);
        const x = buildTorrent({ name: Buffer.from(name, 'utf8'), pieceLength: 16384, single: null, files: [{ length: 10, path: [Buffer.from(element, 'utf8')], pad: false, extra: null }], piecesMode: 'exact', announce: null, urlList: null, oddKeys: [] });
        const r = only(MetainfoError, 'parseMetainfo', () => parseMetainfo(x));
        assert.ok(r.ok, `refused ${JSON.stringify([name, element])}: ${r.ok ? '' : r.error.message}`);
        assert.equal(r.value.name, name, 'name as written');
        assert.deepEqual(r.value.files[0]!.path, [element], 'path element as written');
      }),
      2000,
    );
  },
);
