/**
 * Memory stays flat whatever the file size: a 1 GiB file goes from seeder to requester while the
 * peak resident set (VmHWM) of both programs is sampled from /proc every 100 ms.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { freePort, runCli, startTracker, TestScope, type Proc } from '../support/procs.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const LIMIT_MIB = 150;

const scope = new TestScope('p2p-memory-');
const spawnCli = (...args: Parameters<typeof runCli>): Proc => scope.spawn(...args);

after(() => scope.cleanup());

/** A fresh temp dir (removed in `after`) to run programs in. */
const workDir = (): Promise<string> => scope.dir();

/**
 * Write `size` bytes: one 64 MiB random block repeated, with a counter stamped every 64 KiB so
 * that no two pieces are alike. Returns the SHA-1 of what was written.
 */
async function writeBigFile(file: string, size: number): Promise<string> {
  const block = randomBytes(64 * MiB);
  const h = createHash('sha1');
  const fh = await open(file, 'w');
  try {
    let stamp = 0n;
    for (let at = 0; at < size; at += block.length) {
      for (let o = 0; o < block.length; o += 64 * 1024) block.writeBigUInt64BE(stamp++, o);
      const n = Math.min(block.length, size - at);
      const chunk = block.subarray(0, n);
      h.update(chunk);
      await fh.write(chunk, 0, n, at);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

async function sha1File(file: string): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Peak resident set (VmHWM, bytes) of `pid`, sampled every 100 ms until stopped. */
function sampleHwm(pid: number): { peak(): number; samples(): number; stop(): Promise<void> } {
  let peak = 0;
  let samples = 0;
  let busy: Promise<void> = Promise.resolve();
  const read = async () => {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
      if (m) {
        peak = Math.max(peak, Number(m[1]) * 1024);
        samples++;
      }
    } catch {
      // The process is gone; its last sample stands.
    }
  };
  void read();
  const timer = setInterval(() => {
    busy = busy.then(read);
  }, 100);
  return {
    peak: () => peak,
    samples: () => samples,
    stop: async () => {
      clearInterval(timer);
      await busy;
    },
  };
}

const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

/** Timings and peaks, printed by the first test whether the transfer worked or not. */
const notes: string[] = [];

interface TransferResult {
  seederPeak: number;
  seederSamples: number;
  requesterPeak: number;
  requesterSamples: number;
}

/**
 * Tracker, seeder (prompted for a 1 GiB file) and requester (prompted for its torrent), with
 * VmHWM sampled every 100 ms. Checks along the way that the transfer itself worked (exit codes,
 * transcript, no .part, SHA-1); returns the peaks.
 */
async function transferOneGiB(): Promise<TransferResult> {
  const dir = await workDir();
  const tracker = await startTracker(dir);
  scope.track(tracker.proc);

  const seederPort = await freePort();
  // The file sits in the seeder's own folder already, so the seeder does not copy 1 GiB first.
  const seedDir = path.join(dir, `peer_${seederPort}`);
  await mkdir(seedDir);
  const t0 = Date.now();
  const wantSha1 = await writeBigFile(path.join(seedDir, 'big.bin'), GiB);
  notes.push(`wrote 1 GiB in ${Date.now() - t0} ms`);

  const seeder = spawnCli('seeder', ['--port', String(seederPort), '--tracker', tracker.announce], { cwd: dir });
  const seederHwm = sampleHwm(seeder.child.pid!);
  let requesterHwm: ReturnType<typeof sampleHwm> | undefined;
  try {
    await seeder.waitFor(/Enter the file name to share :/);
    seeder.write(`peer_${seederPort}/big.bin\n`);
    const t1 = Date.now();
    await seeder.waitFor(new RegExp(`^\\* Running on http://127\\.0\\.0\\.1:${seederPort}$`, 'm'), 120_000);
    notes.push(`seeder hashed 1 GiB and started in ${Date.now() - t1} ms`);
    await seeder.waitFor(/^Successfully registered with tracker\.$/m, 15_000).catch((e: Error) => {
      const tp = tracker.proc;
      throw new Error(`${e.message}\ntracker: exit ${tp.child.exitCode} signal ${tp.child.signalCode}\nstdout:\n${tp.out()}\nstderr:\n${tp.err()}`);
    });

    const requester = spawnCli('requester', ['--port', String(await freePort()), '--out', 'dl', '--no-seed', '--wait', '60'], { cwd: dir });
    requesterHwm = sampleHwm(requester.child.pid!);
    await requester.waitFor(/Enter the path to the \.torrent file:/);
    const t2 = Date.now();
    requester.write('peer_6882/big.bin.torrent\n');
    const code = await requester.exited;
    notes.push(`requester downloaded 1 GiB in ${Date.now() - t2} ms`);
    await requesterHwm.stop();
    assert.equal(code, 0, `requester; stdout:\n${requester.out()}\nstderr:\n${requester.err()}`);
    assert.match(requester.out(), /File downloaded: big\.bin, saved to: dl\/big\.bin/);

    await seederHwm.stop();
    seeder.kill('SIGTERM');
    assert.equal(await seeder.exited, 0, 'seeder exits 0 on SIGTERM');

    const got = path.join(dir, 'dl', 'big.bin');
    assert.equal((await stat(got)).size, GiB);
    assert.deepEqual(await readdir(path.join(dir, 'dl')), ['big.bin'], 'no .part left');
    assert.ok(!existsSync(got + '.part'), `no ${got}.part left after the download`);
    const t3 = Date.now();
    assert.equal(await sha1File(got), wantSha1, 'downloaded file has the original SHA-1');
    notes.push(`hashed the download in ${Date.now() - t3} ms`);
    assert.ok(seederHwm.samples() > 5 && requesterHwm.samples() > 5, 'enough samples were taken');
    return {
      seederPeak: seederHwm.peak(),
      seederSamples: seederHwm.samples(),
      requesterPeak: requesterHwm.peak(),
      requesterSamples: requesterHwm.samples(),
    };
  } finally {
    await seederHwm.stop();
    await requesterHwm?.stop();
    notes.push(`peak VmHWM: seeder ${mib(seederHwm.peak())} (${seederHwm.samples()} samples), requester ${requesterHwm ? mib(requesterHwm.peak()) : '-'} (${requesterHwm?.samples() ?? 0} samples)`);
  }
}

describe('1 GiB from seeder to requester', { skip: process.platform !== 'linux' && 'needs /proc/<pid>/status' }, () => {
  let result: Promise<TransferResult> | undefined;
  const transfer = () => (result ??= transferOneGiB());

  test('transfer completes; bytes exact (SHA-1), no .part, clean exits', { timeout: 240_000 }, async (t) => {
    try {
      await transfer();
    } finally {
      for (const n of notes) t.diagnostic(n);
    }
  });

  test(`seeder peak VmHWM < ${LIMIT_MIB} MiB`, { timeout: 240_000 }, async (t) => {
    const r = await transfer();
    t.diagnostic(`seeder peak VmHWM ${mib(r.seederPeak)} (${r.seederSamples} samples)`);
    assert.ok(r.seederPeak < LIMIT_MIB * MiB, `seeder peak ${mib(r.seederPeak)} >= ${LIMIT_MIB} MiB`);
  });

  test(
    `requester peak VmHWM < ${LIMIT_MIB} MiB`,
    {
      timeout: 240_000,
    },
    async (t) => {
      const r = await transfer();
      t.diagnostic(`requester peak VmHWM ${mib(r.requesterPeak)} (${r.requesterSamples} samples)`);
      assert.ok(r.requesterPeak < LIMIT_MIB * MiB, `requester peak ${mib(r.requesterPeak)} >= ${LIMIT_MIB} MiB`);
    },
  );
});
