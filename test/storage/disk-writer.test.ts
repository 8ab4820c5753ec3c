/**
 * The piece stores' writer thread (src/storage/disk-writer.ts) and the store's one write path
 * through it: SharedArrayBuffer-backed data as is, other data copied into shared memory first.
 * Bytes on disk are compared with what was written, across file boundaries; errors reach the
 * caller and leave the thread working; close() waits for writes in flight. One thread serves
 * every store of the process: counted, stopped after the last store, killed (a crash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { DiskWriter, isShared, writerThreadForTests as thread } from '../../src/storage/disk-writer.ts';
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
        fc.integer({ min: 512, max: 50_000 }), // piece length: 1-byte pieces only made the test slow (up to 280,000 writes a run)
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
    assert.ok(readFileSync(file).equals(data), 'every write sent before close() is on disk');
    await assert.rejects(store.write(0, shared(data.subarray(0, 10))), /closed/);
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

/** One file of `length` bytes in `dir`, opened for writing. */
async function oneFileStore(dir: string, name: string, length: number): Promise<{ store: PieceStore; file: string }> {
  const file = path.join(dir, name);
  return { store: await PieceStore.openForWriting([{ path: file, length, offset: 0 }]), file };
}

/** Write `data` at `base` of `store` in 1 MiB pieces, all in flight at once; counts those settled. */
function writeAll(store: PieceStore, data: Buffer, base = 0): { all: Promise<PromiseSettledResult<void>[]>; settled: () => number } {
  let settled = 0;
  const parts: Promise<void>[] = [];
  for (let at = 0; at < data.length; at += 1 << 20) {
    const p = store.write(at + base, shared(data.subarray(at, at + (1 << 20))));
    p.then(() => settled++, () => settled++);
    parts.push(p);
  }
  return { all: Promise.allSettled(parts), settled: () => settled };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) assert.fail(`waited ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('two stores write at once through one thread', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  const a = await oneFileStore(dir, 'a', 32 << 20);
  const b = await oneFileStore(dir, 'b', 8 << 20);
  try {
    const startedBefore = thread.started;
    const [dataA, dataB] = [randomBytes(32 << 20), randomBytes(8 << 20)];
    const [wa, wb] = [writeAll(a.store, dataA), writeAll(b.store, dataB)];
    assert.ok(thread.running, 'the thread runs while writes are in flight');
    for (const r of [...(await wa.all), ...(await wb.all)]) assert.equal(r.status, 'fulfilled', 'a write failed');
    assert.ok(thread.started - startedBefore <= 1, `one thread for both stores, ${thread.started - startedBefore} started`);
    await Promise.all([a.store.close(), b.store.close()]);
    assert.ok(readFileSync(a.file).equals(dataA), 'a\'s bytes on disk');
    assert.ok(readFileSync(b.file).equals(dataB), 'b\'s bytes on disk');
  } finally {
    await Promise.all([a.store.close(), b.store.close()]);
    await remove();
  }
});

test('closing one store\'s writer waits for its writes only, and leaves the thread to the others', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  const [a, b] = [new DiskWriter(), new DiskWriter()];
  const [fdA, fdB] = [openSync(path.join(dir, 'a'), 'w'), openSync(path.join(dir, 'b'), 'w')];
  try {
    await b.write(fdB, shared(Buffer.from('b wrote')), 0); // b uses the thread, nothing in flight
    const data = shared(randomBytes(32 << 20));
    let settled = 0;
    const writesA = Array.from({ length: 32 }, (_, i) => a.write(fdA, data.subarray(i << 20, (i + 1) << 20), i << 20).finally(() => settled++));
    await b.close();
    assert.equal(settled, 0, 'b\'s close waited for a\'s writes');
    await assert.rejects(b.write(fdB, shared(Buffer.from('x')), 0), /disk writer closed/);
    assert.ok(thread.running, 'a store still writing keeps the thread');
    const aClosed = a.close();
    await assert.rejects(a.write(fdA, shared(Buffer.from('x')), 0), /disk writer closed/, 'a closing writer refuses writes');
    await aClosed;
    assert.equal(settled, 32, 'a\'s close returned before its writes were done');
    await Promise.all(writesA);
    assert.ok(readFileSync(path.join(dir, 'a')).equals(data), 'a\'s bytes on disk');
  } finally {
    await Promise.all([a.close(), b.close()]);
    closeSync(fdA);
    closeSync(fdB);
    await remove();
  }
});

test('the thread outlives the last store by its linger only; the next write starts a new one', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  const [first, second, third] = [await oneFileStore(dir, 'first', 10), await oneFileStore(dir, 'second', 10), await oneFileStore(dir, 'third', 10)];
  const linger = thread.setLingerMs(50);
  try {
    await first.store.write(0, shared(Buffer.from('0123456789')));
    const started = thread.started;
    await first.store.close();
    await second.store.write(0, shared(Buffer.from('abcdefghij'))); // within the linger
    assert.equal(thread.started, started, 'a store writing within the linger reuses the thread');
    await second.store.close();
    await until(() => !thread.running, 3000, 'the thread to stop after the last store closed');
    await third.store.write(0, shared(Buffer.from('ABCDEFGHIJ')));
    assert.equal(thread.started, started + 1, 'the next write started a new thread');
    await third.store.close();
    assert.equal(readFileSync(third.file, 'utf8'), 'ABCDEFGHIJ');
  } finally {
    thread.setLingerMs(linger);
    await Promise.all([first, second, third].map((x) => x.store.close()));
    await remove();
  }
});

test('a killed thread fails the writes in flight of every store; later writes of every store work', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  const [a, b, idle] = [await oneFileStore(dir, 'a', 64 << 20), await oneFileStore(dir, 'b', 64 << 20), await oneFileStore(dir, 'idle', 10)];
  try {
    await idle.store.write(0, shared(Buffer.from('before....'))); // the thread is up; nothing of idle's in flight
    const started = thread.started;
    // One 64 MiB write each: far longer than the kill takes to land.
    const inFlight = [a.store.write(0, Buffer.from(new SharedArrayBuffer(64 << 20))), b.store.write(0, Buffer.from(new SharedArrayBuffer(64 << 20)))];
    await thread.kill();
    for (const r of await Promise.allSettled(inFlight)) {
      assert.equal(r.status, 'rejected', 'a write in flight when the thread died succeeded');
      assert.match((r as PromiseRejectedResult).reason.message, /disk writer thread died/);
    }
    assert.equal(thread.running, false, 'the dead thread is forgotten');
    // Nobody is poisoned: the stores whose writes failed and the idle one write through a new thread.
    const again = [a.store.write(5, shared(Buffer.from('a-again'))), b.store.write(7, shared(Buffer.from('b-again'))), idle.store.write(0, shared(Buffer.from('after.....')))];
    await Promise.all(again);
    assert.equal(thread.started, started + 1, 'one fresh thread for all three');
    await Promise.all([a, b, idle].map((x) => x.store.close()));
    assert.equal(readFileSync(a.file).subarray(5, 12).toString(), 'a-again');
    assert.equal(readFileSync(b.file).subarray(7, 14).toString(), 'b-again');
    assert.equal(readFileSync(idle.file, 'utf8'), 'after.....');
  } finally {
    await Promise.all([a, b, idle].map((x) => x.store.close()));
    await remove();
  }
});

/** Run `body` (an ES module's text, `store` and `file` in scope) in a new tsx process. */
function runScript(file: string, body: string): { status: number | null; stdout: string; stderr: string; endedAt: number } {
  const script = `
    import { PieceStore } from ${JSON.stringify(new URL('../../src/storage/piece-store.ts', import.meta.url).href)};
    const file = ${JSON.stringify(file)};
    const store = await PieceStore.openForWriting([{ path: file, length: 5, offset: 0 }]);
    ${body}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, endedAt: Date.now() };
}

test('neither an idle thread nor its linger keeps the process alive', async () => {
  const { dir, remove } = await tempDir('disk-writer-test-');
  try {
    const write = `const b = Buffer.from(new SharedArrayBuffer(5)); b.write('hello'); await store.write(0, b);`;
    // A store left open: the thread is idle (unref'd) once its write is done.
    const open = runScript(path.join(dir, 'open'), `${write} console.log('written');`);
    assert.equal(open.status, 0, open.stderr);
    assert.match(open.stdout, /written/);
    assert.equal(readFileSync(path.join(dir, 'open'), 'utf8'), 'hello');
    // A closed store: the thread lingers (a minute here), but the process exits at once.
    const linger = `(await import(${JSON.stringify(new URL('../../src/storage/disk-writer.ts', import.meta.url).href)})).writerThreadForTests.setLingerMs(60_000);`;
    const closed = runScript(path.join(dir, 'closed'), `${linger} ${write} await store.close(); console.log('closed at', Date.now());`);
    assert.equal(closed.status, 0, closed.stderr);
    const closedAt = Number(/closed at (\d+)/.exec(closed.stdout)?.[1]);
    assert.ok(closed.endedAt - closedAt < 10_000, `the process exited ${closed.endedAt - closedAt} ms after the last store closed`);
    assert.equal(readFileSync(path.join(dir, 'closed'), 'utf8'), 'hello');
  } finally {
    await remove();
  }
});
