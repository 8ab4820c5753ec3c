/**
 * Bad input to the seeder and requester: each case must end quickly with a non-zero status and one
 * clear `Error: ...` line on stderr, never a stack trace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, runCli, startTracker, tempDir, type Proc } from '../support/procs.ts';
import { encode } from '../../src/metainfo/bencode.ts';
import { makeTorrent as makeSingleFileTorrent } from '../../src/metainfo/create.ts';

const procs = new Set<Proc>();
const dirs: Array<() => Promise<void>> = [];

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all([...procs].map((p) => p.exited));
  await Promise.all(dirs.map((r) => r()));
});

/** A fresh temp dir (removed in `after`) to run programs in. */
async function workDir(): Promise<string> {
  const { dir, remove } = await tempDir('p2p-cli-errors-');
  dirs.push(remove);
  return dir;
}

interface Outcome {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/**
 * Run a CLI in `cwd`. With `answer`, wait for its prompt and answer it through stdin; without,
 * close stdin at once (so a program that asks anyway sees end of input instead of hanging).
 */
async function runToExit(
  entry: 'seeder' | 'requester',
  args: string[],
  opts: { cwd: string; answer?: string; prompt?: RegExp; timeoutMs?: number },
): Promise<Outcome> {
  const t0 = Date.now();
  const p = runCli(entry, args, { cwd: opts.cwd });
  procs.add(p);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  try {
    if (opts.answer !== undefined) {
      await p.waitFor(opts.prompt ?? /:\s*$/m, timeoutMs);
      p.write(opts.answer + '\n');
    } else {
      p.child.stdin!.end();
    }
    const code = await p.exited;
    return { code, out: p.out(), err: p.err(), ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
    p.kill('SIGKILL'); // no-op once it has exited
    await p.exited;
    procs.delete(p);
  }
}

/** Non-zero exit, one `Error:` line on stderr matching `re`, no stack, within `maxMs`. */
function assertCleanFailure(t: { diagnostic(msg: string): void }, r: Outcome, re: RegExp, maxMs = 10_000): void {
  t.diagnostic(`exit ${r.code} in ${r.ms} ms; stderr: ${r.err.trim().split('\n')[0] ?? ''}`);
  const info = `exit ${r.code} after ${r.ms} ms\nstdout:\n${r.out}\nstderr:\n${r.err}`;
  assert.notEqual(r.code, 0, `non-zero exit expected; ${info}`);
  assert.notEqual(r.code, null, `killed instead of exiting; ${info}`);
  const errLines = r.err.split('\n').filter((l) => l.trim() !== '');
  assert.equal(errLines.length, 1, `exactly one line on stderr; ${info}`);
  assert.match(errLines[0]!, /^Error: \S/, `an "Error: ..." line; ${info}`);
  assert.match(errLines[0]!, re, info);
  assert.doesNotMatch(r.err, /^\s*at /m, `no stack trace; ${info}`);
  assert.doesNotMatch(r.err + r.out, /node:internal|\.ts:\d+:\d+/, `no stack trace; ${info}`);
  assert.ok(r.ms < maxMs, `took ${r.ms} ms (limit ${maxMs}); ${info}`);
}

let dir: string;
let tracker: Awaited<ReturnType<typeof startTracker>>;
let deadAnnounce: string;

before(async () => {
  dir = await workDir();
  tracker = await startTracker(dir);
  procs.add(tracker.proc);
  deadAnnounce = `http://127.0.0.1:${await freePort()}/announce`;
  await mkdir(path.join(dir, 'a-directory'));
  await writeFile(path.join(dir, 'empty.bin'), '');
  await writeFile(path.join(dir, 'data.bin'), randomBytes(20_000));
});

async function seederArgs(...extra: string[]): Promise<string[]> {
  return ['--port', String(await freePort()), '--tracker', deadAnnounce, ...extra];
}

async function requesterArgs(...extra: string[]): Promise<string[]> {
  return ['--port', String(await freePort()), '--out', 'out-unused', '--no-seed', ...extra];
}

const SEED_PROMPT = /Enter the file name to share :/;
const REQ_PROMPT = /Enter the path to the \.torrent file:/;

describe('seeder refuses', { concurrency: 3 }, () => {
  test('a missing file (answered at the prompt)', async (t) => {
    const r = await runToExit('seeder', await seederArgs(), { cwd: dir, answer: 'no-such-file.bin', prompt: SEED_PROMPT });
    assertCleanFailure(t, r, /no such file.*no-such-file\.bin/i);
  });

  test('a missing file (positional)', async (t) => {
    const r = await runToExit('seeder', await seederArgs('no-such-file.bin'), { cwd: dir });
    assertCleanFailure(t, r, /no such file.*no-such-file\.bin/i);
  });

  // Folders are shared since the seeder learnt multi-file torrents; one holding no data is refused.
  test('a directory (empty: nothing to share)', async (t) => {
    const r = await runToExit('seeder', await seederArgs(), { cwd: dir, answer: 'a-directory', prompt: SEED_PROMPT });
    assertCleanFailure(t, r, /a-directory/);
    assert.ok(!existsSync(path.join(dir, 'a-directory.torrent')), 'no torrent written');
  });

  test('an empty file', async (t) => {
    const r = await runToExit('seeder', await seederArgs(), { cwd: dir, answer: 'empty.bin', prompt: SEED_PROMPT });
    assertCleanFailure(t, r, /empty\.bin.*empty/i);
    assert.ok(!existsSync(path.join(dir, 'empty.bin.torrent')), 'no torrent written');
  });

  test('--port 99999', async (t) => {
    const r = await runToExit('seeder', ['data.bin', '--port', '99999', '--tracker', deadAnnounce], { cwd: dir });
    assertCleanFailure(t, r, /port/i);
  });

  test('--piece-length 1000', async (t) => {
    const r = await runToExit('seeder', await seederArgs('data.bin', '--piece-length', '1000'), { cwd: dir });
    assertCleanFailure(t, r, /piece-length/i);
    assert.ok(!existsSync(path.join(dir, 'data.bin.torrent')), 'no torrent written');
  });
});

/** A single-file torrent with an arbitrary info dictionary. */
function rawTorrent(info: Record<string, Buffer | string | number>, announce = tracker.announce): Buffer {
  return encode({ announce, info });
}

describe('requester refuses', { concurrency: 3 }, () => {
  test('a path that does not exist (answered at the prompt)', async (t) => {
    const r = await runToExit('requester', await requesterArgs(), { cwd: dir, answer: 'nothing-here.torrent', prompt: REQ_PROMPT });
    assertCleanFailure(t, r, /nothing-here\.torrent/);
  });

  test('a path that does not exist (positional)', async (t) => {
    const r = await runToExit('requester', await requesterArgs('nothing-here.torrent'), { cwd: dir });
    assertCleanFailure(t, r, /nothing-here\.torrent/);
  });

  test('a file of random bytes', async (t) => {
    await writeFile(path.join(dir, 'random.torrent'), randomBytes(4096));
    const r = await runToExit('requester', await requesterArgs(), { cwd: dir, answer: 'random.torrent', prompt: REQ_PROMPT });
    assertCleanFailure(t, r, /random\.torrent.*not a valid torrent/i);
  });

  test('the bytes "l-3:"', async (t) => {
    await writeFile(path.join(dir, 'neg.torrent'), 'l-3:');
    const r = await runToExit('requester', await requesterArgs('neg.torrent'), { cwd: dir });
    assertCleanFailure(t, r, /neg\.torrent.*not a valid torrent/i);
  });

  test('a torrent whose name is ../evil', async (t) => {
    const sub = path.join(dir, 'evil-case', 'inner');
    await mkdir(sub, { recursive: true });
    await writeFile(
      path.join(sub, 'evil.torrent'),
      rawTorrent({ length: 5, name: '../evil', 'piece length': 16384, pieces: randomBytes(20) }),
    );
    const r = await runToExit('requester', await requesterArgs('evil.torrent'), { cwd: sub });
    assertCleanFailure(t, r, /evil/);
    assert.ok(!existsSync(path.join(dir, 'evil-case', 'evil')), 'nothing written outside');
    assert.ok(!existsSync(path.join(dir, 'evil-case', 'evil.part')), 'nothing written outside');
    assert.deepEqual(await readdir(sub), ['evil.torrent'], 'nothing written at all');
  });

  test('a torrent whose pieces are not a multiple of 20 bytes', async (t) => {
    await writeFile(path.join(dir, 'pieces19.torrent'), rawTorrent({ length: 5, name: 'p19', 'piece length': 16384, pieces: randomBytes(19) }));
    const r = await runToExit('requester', await requesterArgs('pieces19.torrent'), { cwd: dir });
    assertCleanFailure(t, r, /pieces|20/);
  });

  test('a tracker that is down (--wait 2): gives up within ~10 s, says so', async (t) => {
    await writeFile(path.join(dir, 'dead.torrent'), await makeSingleFileTorrent(path.join(dir, 'data.bin'), 'data.bin', { announce: deadAnnounce }));
    const r = await runToExit('requester', await requesterArgs('dead.torrent', '--wait', '2'), { cwd: dir, timeoutMs: 30_000 });
    assertCleanFailure(t, r, /tracker/i, 10_000);
  });

  test('a tracker with no seeder (--wait 2): "no seeders"', async (t) => {
    await writeFile(path.join(dir, 'lonely.torrent'), await makeSingleFileTorrent(path.join(dir, 'data.bin'), 'data.bin', { announce: tracker.announce, pieceLength: 16384 }));
    const r = await runToExit('requester', await requesterArgs('lonely.torrent', '--wait', '2'), { cwd: dir, timeoutMs: 30_000 });
    assertCleanFailure(t, r, /no seeders/i, 10_000);
  });

  test(
    'an output folder that cannot be written (a file stands where it should be)',
    async (t) => {
      const sub = path.join(dir, 'blocked-case');
      await mkdir(sub);
      await writeFile(path.join(sub, 'ok.torrent'), await makeSingleFileTorrent(path.join(dir, 'data.bin'), 'data.bin', { announce: tracker.announce }));
      await writeFile(path.join(sub, 'blocked'), 'I am a file\n');
      const r = await runToExit('requester', ['ok.torrent', '--port', String(await freePort()), '--out', 'blocked', '--no-seed', '--wait', '2'], { cwd: sub });
      assertCleanFailure(t, r, /blocked/);
      assert.equal(await readFile(path.join(sub, 'blocked'), 'utf8'), 'I am a file\n', 'the file is untouched');
      assert.ok(!existsSync(path.join(sub, 'blocked', 'data.bin')), 'no file at the final name');
    },
  );

  test('the final name is taken by a folder', async (t) => {
    const sub = path.join(dir, 'folder-case');
    await mkdir(path.join(sub, 'dl', 'data.bin'), { recursive: true });
    await writeFile(path.join(sub, 'dl', 'data.bin', 'keep.txt'), 'keep');
    await writeFile(path.join(sub, 'ok.torrent'), await makeSingleFileTorrent(path.join(dir, 'data.bin'), 'data.bin', { announce: tracker.announce }));
    const r = await runToExit('requester', ['ok.torrent', '--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '2'], { cwd: sub });
    assertCleanFailure(t, r, /data\.bin/);
    assert.ok((await stat(path.join(sub, 'dl', 'data.bin'))).isDirectory(), 'the folder is untouched');
    assert.equal(await readFile(path.join(sub, 'dl', 'data.bin', 'keep.txt'), 'utf8'), 'keep');
    assert.deepEqual((await readdir(path.join(sub, 'dl'))).sort(), ['data.bin'], 'no .part left');
  });
});
