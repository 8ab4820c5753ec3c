import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { storageFiles, spansOf, type StorageFile } from '../../src/storage/layout.ts';
import { unsafeComponentReason, safeJoin } from '../../src/storage/safe-path.ts';
import type { FileEntry } from '../../src/metainfo/metainfo.ts';

const DIR = path.join(os.tmpdir(), 'layout-test-root');

function files(...lengths: number[]): StorageFile[] {
  let offset = 0;
  return lengths.map((length, i) => {
    const f = { path: `/f${i}`, length, offset };
    offset += length;
    return f;
  });
}

describe('storageFiles', () => {
  const single = { name: 'movie.mkv', multiFile: false, files: [{ path: [], length: 1234, offset: 0, pad: false }] as FileEntry[] };

  test('single file maps to dir/name', () => {
    assert.deepEqual(storageFiles(single, DIR), [{ path: path.join(DIR, 'movie.mkv'), length: 1234, offset: 0, root: DIR }]);
  });

  test('single file with suffix maps to dir/name.part', () => {
    assert.deepEqual(storageFiles(single, DIR, '.part'), [{ path: path.join(DIR, 'movie.mkv.part'), length: 1234, offset: 0, root: DIR }]);
  });

  test('relative dir is resolved to an absolute path', () => {
    const out = storageFiles(single, 'rel/dir');
    assert.equal(out[0]!.path, path.resolve('rel/dir', 'movie.mkv'));
    assert.ok(path.isAbsolute(out[0]!.path!), `${out[0]!.path} is absolute`);
  });

  const multi = {
    name: 'album',
    multiFile: true,
    files: [
      { path: ['01.flac'], length: 10, offset: 0, pad: false },
      { path: ['.pad', '6'], length: 6, offset: 10, pad: true },
      { path: ['art', 'cover.jpg'], length: 5, offset: 16, pad: false },
      { path: ['empty'], length: 0, offset: 21, pad: false },
    ] as FileEntry[],
  };

  // `root` is the download folder: nothing below it is followed as a link when writing.
  test('multi-file maps to dir/name/path...; pad files have null path', () => {
    assert.deepEqual(storageFiles(multi, DIR), [
      { path: path.join(DIR, 'album', '01.flac'), length: 10, offset: 0, root: DIR },
      { path: null, length: 6, offset: 10, root: DIR },
      { path: path.join(DIR, 'album', 'art', 'cover.jpg'), length: 5, offset: 16, root: DIR },
      { path: path.join(DIR, 'album', 'empty'), length: 0, offset: 21, root: DIR },
    ]);
  });

  test('multi-file with suffix: the suffix goes on the top folder only', () => {
    const out = storageFiles(multi, DIR, '.part');
    assert.equal(out[0]!.path, path.join(DIR, 'album.part', '01.flac'));
    assert.equal(out[2]!.path, path.join(DIR, 'album.part', 'art', 'cover.jpg'));
    assert.equal(out[1]!.path, null);
  });

  test('unsafe names or paths are refused (second line of defence)', () => {
    assert.throws(() => storageFiles({ ...single, name: '..' }, DIR));
    assert.throws(() => storageFiles({ ...single, name: '../x' }, DIR));
    const bad = { ...multi, files: [{ path: ['..', '..', 'etc', 'passwd'], length: 1, offset: 0, pad: false }] };
    assert.throws(() => storageFiles(bad, DIR), /unsafe path element/);
    // A pad file's path is never joined, so it cannot be used to escape either way.
    const padOnly = { ...multi, files: [{ path: ['..'], length: 1, offset: 0, pad: true }] };
    assert.deepEqual(storageFiles(padOnly, DIR), [{ path: null, length: 1, offset: 0, root: DIR }]);
  });
});

describe('spansOf', () => {
  // [0,10) [10,10) [10,25) [25,30)
  const fs = files(10, 0, 15, 5);

  test('within one file', () => {
    assert.deepEqual(spansOf(fs, 2, 5), [{ file: 0, fileOffset: 2, length: 5 }]);
    assert.deepEqual(spansOf(fs, 12, 3), [{ file: 2, fileOffset: 2, length: 3 }]);
    assert.deepEqual(spansOf(fs, 25, 5), [{ file: 3, fileOffset: 0, length: 5 }]);
  });

  test('across file boundaries, zero-length files skipped', () => {
    assert.deepEqual(spansOf(fs, 8, 4), [
      { file: 0, fileOffset: 8, length: 2 },
      { file: 2, fileOffset: 0, length: 2 },
    ]);
    assert.deepEqual(spansOf(fs, 0, 30), [
      { file: 0, fileOffset: 0, length: 10 },
      { file: 2, fileOffset: 0, length: 15 },
      { file: 3, fileOffset: 0, length: 5 },
    ]);
  });

  test('a range starting exactly at a boundary after a zero-length file', () => {
    assert.deepEqual(spansOf(fs, 10, 16), [
      { file: 2, fileOffset: 0, length: 15 },
      { file: 3, fileOffset: 0, length: 1 },
    ]);
  });

  test('many files: binary search finds the right start', () => {
    const many = files(...Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 0 : 7)));
    const total = many.reduce((s, f) => s + f.length, 0);
    for (const offset of [0, 1, 6, 7, 8, 100, 2000, total - 8, total - 1]) {
      const spans = spansOf(many, offset, 8 > total - offset ? total - offset : 8);
      assert.equal(spans.reduce((s, x) => s + x.length, 0), Math.min(8, total - offset));
      // The first span is in the file that holds `offset`.
      const f = many[spans[0]!.file]!;
      assert.ok(f.length > 0 && f.offset <= offset && offset < f.offset + f.length, `offset ${offset}`);
      assert.equal(spans[0]!.fileOffset, offset - f.offset);
      for (const s of spans) assert.ok(many[s.file]!.length > 0, 'zero-length file in spans');
    }
  });

  test('zero-length range gives no spans', () => {
    assert.deepEqual(spansOf(fs, 5, 0), []);
  });

  test('range outside the torrent throws RangeError', () => {
    assert.throws(() => spansOf(fs, 28, 5), RangeError);
    assert.throws(() => spansOf(fs, 30, 1), RangeError);
    assert.throws(() => spansOf(fs, 1000, 1), RangeError);
    assert.throws(() => spansOf([], 0, 1), RangeError);
  });

  test('negative offset throws RangeError', () => {
    assert.throws(() => spansOf(fs, -5, 5), RangeError);
    assert.throws(() => spansOf(fs, -5, 10), RangeError);
  });

  test('spans cover the range exactly (exhaustive small check)', () => {
    const total = 30;
    for (let offset = 0; offset < total; offset++) {
      for (let length = 1; offset + length <= total; length++) {
        const spans = spansOf(fs, offset, length);
        let pos = offset;
        for (const s of spans) {
          const f = fs[s.file]!;
          assert.equal(f.offset + s.fileOffset, pos);
          assert.ok(s.length > 0 && s.fileOffset >= 0 && s.fileOffset + s.length <= f.length, `span ${JSON.stringify(s)} lies inside file ${s.file}`);
          pos += s.length;
        }
        assert.equal(pos, offset + length);
      }
    }
  });
});

describe('unsafeComponentReason', () => {
  test('safe components', () => {
    for (const c of ['a', 'file.txt', '...', '.hidden', 'a..b', 'x'.repeat(255), '\u00e9t\u00e9', ' ', '-rf']) {
      assert.equal(unsafeComponentReason(c), null, JSON.stringify(c));
    }
  });
  test('unsafe components have a reason', () => {
    assert.equal(unsafeComponentReason(''), 'is empty');
    assert.equal(unsafeComponentReason('.'), 'is "."');
    assert.equal(unsafeComponentReason('..'), 'is ".."');
    for (const c of ['a/b', '/', '/etc', 'a\\b', '..\\..', 'a\0b', '\0']) {
      assert.match(unsafeComponentReason(c) ?? '', /contains/, JSON.stringify(c));
    }
    assert.match(unsafeComponentReason('x'.repeat(256)) ?? '', /longer than 255 bytes/);
    // 255 bytes is measured in UTF-8 bytes, not characters: 128 two-byte chars = 256 bytes.
    assert.match(unsafeComponentReason('\u00e9'.repeat(128)) ?? '', /longer than 255 bytes/);
  });
});

describe('safeJoin', () => {
  test('joins components under the root', () => {
    assert.equal(safeJoin(DIR, ['a', 'b.txt']), path.join(DIR, 'a', 'b.txt'));
    assert.equal(safeJoin(DIR, []), path.resolve(DIR));
    assert.equal(safeJoin(DIR + '/sub/..', ['x']), path.join(DIR, 'x'));
  });

  for (const bad of ['..', '.', '', 'a/b', '/etc', 'a\\b', 'a\0b', 'x'.repeat(256)]) {
    test(`refuses component ${JSON.stringify(bad.length > 20 ? bad.slice(0, 20) + '...' : bad)}`, () => {
      assert.throws(() => safeJoin(DIR, ['ok', bad]), /unsafe path element/);
    });
  }

  test('never returns a path outside the root', () => {
    const tries = [['..'], ['a', '..', '..'], ['/etc/passwd'], ['..', DIR], ['a', '..\\..'], ['.'], ['..%2f'], ['%2e%2e'], ['...'], ['a', '...']];
    const root = path.resolve(DIR);
    for (const comps of tries) {
      let out: string | undefined;
      try {
        out = safeJoin(DIR, comps);
      } catch {
        continue;
      }
      assert.ok(out.startsWith(root + path.sep), `${JSON.stringify(comps)} -> ${out}`);
    }
    // "..." is a legitimate name and stays inside.
    assert.equal(safeJoin(DIR, ['...']), path.join(root, '...'));
  });

  test('a sibling directory that shares the root prefix is not "inside"', () => {
    // Components cannot contain separators, so the only way to reach a sibling is refused.
    assert.throws(() => safeJoin(DIR, ['..', path.basename(DIR) + '-evil']));
  });

  test('works when the root is the file system root', () => {
    assert.equal(safeJoin('/', ['a']), '/a');
  });
});
