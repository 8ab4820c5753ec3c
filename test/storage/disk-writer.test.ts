/**
 * The piece store's writer thread (src/storage/disk-writer.ts) and the store's one write path
 * through it: SharedArrayBuffer-backed data as is, other data copied into shared memory first.
 * Bytes on disk are compared with what was written, across file boundaries; errors reach the
 * caller and leave the thread working; close() waits for writes in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { DiskWriter, isShared } from '../../src/storage/disk-writer.ts';
import { PieceStore } from '../../src/storage/piece-store.ts';
import type { StorageFile } from '../../src/storage/layout.ts';
import { tempDir } from '../support/procs.ts';

function shared(bytes: Buffer): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(b);
  return b;
}

/** Files of these lengths laid end to end, in `dir`. */
function layout(dir: string, lengths: number[]): StorageFile[] {
  let offset = 0;
  return lengths.map((length, i) => {
    const f = { path: path.join(dir, `f${i}`), length, offset };
    offset += length;
    return f;
  });
}

test('isShared: true only for SharedArrayBuffer-backed buffers', () => {
  assert.equal(isShared(shared(Buffer.alloc(10))), true);
  assert.equal(isShared(Buffer.alloc(10)), false);
  assert.equal(isShared(Buffer.allocUnsafeSlow(100_000)), false);
});

test('property: pieces written in any order, shared or not, across file boundaries, give the exact bytes', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  try {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 50_000 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        async (lengths, pieceLength, sharedFlags, seed) => {
          const files = layout(path.join(dir, String(run++)), lengths);
          const data = randomBytes(lengths.reduce((a, b) => a + b, 0));
          const store = await PieceStore.openForWriting(files);
          try {
            const pieces = Math.ceil(data.length / pieceLength);
            const order = Array.from({ length: pieces }, (_, i) => i).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
            // All in flight at once, as the downloader does.
            await Promise.all(
              order.map((p, k) => {
                const bytes = data.subarray(p * pieceLength, Math.min(data.length, (p + 1) * pieceLength));
                return store.write(p * pieceLength, sharedFlags[k % sharedFlags.length] ? shared(bytes) : Buffer.from(bytes));
              }),
            );
          } finally {
            await store.close();
          }
          const onDisk = Buffer.concat(files.map((f) => readFileSync(f.path!)));
          assert.ok(onDisk.equals(data), 'bytes on disk differ from the data written');
        },
      ),
      { numRuns: 40 },
    );
  } finally {
    await remove();
  }
});

test('close() waits for every write in flight, and later writes are refused', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  try {
    const file = path.join(dir, 'f');
    const data = randomBytes(8 * 1024 * 1024);
    const store = await PieceStore.openForWriting([{ path: file, length: data.length, offset: 0 }]);
    const piece = 256 * 1024;
    const writes: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += piece) writes.push(store.write(at, shared(data.subarray(at, at + piece))));
    await store.close(); // without awaiting the writes first
    await Promise.all(writes);
    assert.ok(readFileSync(file).equals(data));
    await assert.rejects(store.write(0, shared(data.subarray(0, 10))));
  } finally {
    await remove();
  }
});

test('a store opened for reading refuses writes', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  try {
    const files = layout(dir, [10]);
    await (await PieceStore.openForWriting(files)).close();
    const store = await PieceStore.openForReading(files);
    await assert.rejects(store.write(0, shared(Buffer.alloc(10))), /open for reading only/);
    await store.close();
  } finally {
    await remove();
  }
});

test('a failed write rejects with its error code; the thread goes on writing', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  const writer = new DiskWriter();
  try {
    const ro = path.join(dir, 'read-only');
    closeSync(openSync(ro, 'w'));
    const roFd = openSync(ro, 'r');
    await assert.rejects(writer.write(roFd, shared(Buffer.from('x')), 0), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
    closeSync(roFd);
    const ok = path.join(dir, 'ok');
    const fd = openSync(ok, 'w');
    await writer.write(fd, shared(Buffer.from('still writing')), 3);
    closeSync(fd);
    assert.deepEqual(readFileSync(ok), Buffer.concat([Buffer.alloc(3), Buffer.from('still writing')]));
    await assert.rejects(writer.write(1, Buffer.from('not shared'), 0), TypeError);
  } finally {
    await writer.close();
    await remove();
  }
});

test('an idle writer thread does not keep the process alive', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  try {
    const file = path.join(dir, 'f');
    const script = `
      import { openSync } from 'node:fs';
      import { DiskWriter } from ${JSON.stringify(new URL('../../src/storage/disk-writer.ts', import.meta.url).href)};
      const w = new DiskWriter();
      const b = Buffer.from(new SharedArrayBuffer(5)); b.write('hello');
      await w.write(openSync(${JSON.stringify(file)}, 'w'), b, 0);
      console.log('written');`;
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /written/);
    assert.equal(readFileSync(file, 'utf8'), 'hello');
  } finally {
    await remove();
  }
});
