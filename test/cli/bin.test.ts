/**
 * The `bin` entries: installed into another folder (npm's folder install, offline: a link to this
 * project, as `npm link` makes), the three commands run from there by `npx` and by path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, runProgram } from '../support/procs.ts';

test('p2p-tracker, p2p-seeder, p2p-requester work from another folder after an install', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2p-bin-'));
  try {
    const env = { ...process.env, NODE_OPTIONS: '', npm_config_audit: 'false', npm_config_fund: 'false' };
    const install = spawnSync('npm', ['install', '--offline', '--ignore-scripts', '--no-save', ROOT], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
    assert.equal(install.status, 0, install.stderr);
    const elsewhere = path.join(dir, 'elsewhere');
    await mkdir(elsewhere);
    for (const bin of ['p2p-tracker', 'p2p-seeder', 'p2p-requester']) {
      const r = spawnSync('npx', ['--offline', '--no-install', bin, '--version'], { cwd: elsewhere, encoding: 'utf8', timeout: 30_000, env });
      assert.equal(r.status, 0, `${bin}: ${r.stderr}`);
      assert.match(r.stdout, /^p2p-bittorrent \d+\.\d+\.\d+$/m, bin);
    }
    const port = await freePort();
    const tracker = runProgram('p2p-tracker', [path.join(dir, 'node_modules', '.bin', 'p2p-tracker'), '--port', String(port), '--no-udp'], { cwd: elsewhere });
    try {
      await tracker.waitFor(new RegExp(`\\* Running on http://127\\.0\\.0\\.1:${port}`));
    } finally {
      tracker.kill('SIGKILL');
      await tracker.exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
