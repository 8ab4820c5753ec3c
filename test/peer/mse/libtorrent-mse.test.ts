/**
 * libtorrent 2.0 with encryption forced (in_enc_policy = out_enc_policy = forced,
 * allowed_enc_level = rc4) against our MSE, both roles, inside a loopback-only network
 * namespace: a whole download over RC4 proves every handshake byte and the keystreams right.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EncryptionPolicy } from '../../../src/peer/mse/index.ts';
import { createNetns, requireNetns } from '../../support/netns.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const LT_SCRIPT = path.join(HERE, 'fixtures/lt-mse-peer.py');
const NODE_PEER = path.join(HERE, 'fixtures/mse-bt-node.ts');
const PYTHON = '/usr/bin/python3';
const PIECE_LEN = 32768;
const PORT = 6881; // inside a namespace of our own: no other listener

function requireLibtorrent(t: TestContext): boolean {
  if (spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0) return true;
  const why = 'python3 libtorrent is missing: apt-get install -y python3-libtorrent';
  if (process.env['CI'] === 'true') throw new Error(`${why} (required under CI=true)`);
  t.skip(why);
  return false;
}

/** A file of ~200 KiB (7 pieces, the last one short) and libtorrent's torrent for it. */
function fixture() {
  const dir = mkdtempSync(path.join(tmpdir(), 'p2p-mse-lt-'));
  const data = path.join(dir, 'seed', 'payload.bin');
  mkdirSync(path.dirname(data));
  writeFileSync(data, randomBytes(6 * PIECE_LEN + 1234));
  const torrent = path.join(dir, 'payload.torrent');
  const ih = execFileSync(PYTHON, [LT_SCRIPT, 'make-torrent', data, torrent, String(PIECE_LEN)], { encoding: 'utf8' }).trim();
  assert.match(ih, /^[0-9a-f]{40}$/);
  return { dir, data, torrent, ih, size: 6 * PIECE_LEN + 1234, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Run {
  child: ChildProcess;
  /** Resolves with every stdout line once the process exits. */
  lines: Promise<string[]>;
  /** Resolves when a line matching `re` appears. */
  waitFor(re: RegExp): Promise<void>;
}

function run(argv: string[]): Run {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of waiters) if (w.re.test(out)) w.resolve();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const lines = new Promise<string[]>((resolve) => child.on('close', () => resolve(out.split('\n').filter(Boolean))));
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(out)) return resolve();
      waiters.push({ re, resolve });
      child.on('close', () => reject(new Error(`${argv.join(' ')} exited before ${re}: ${out}${err}`)));
    });
  return { child, lines, waitFor };
}

const lastJson = (lines: string[]) => JSON.parse(lines.filter((l) => l.startsWith('{')).pop() ?? '{}') as Record<string, unknown>;

type Level = 'rc4' | 'both';

/** libtorrent downloads from our acceptMse; both sides' JSON summaries. */
async function ltDownloadsFromUs(level: Level, policy: EncryptionPolicy) {
  const f = fixture();
  const ns = createNetns();
  const procs: Run[] = [];
  try {
    const ours = run(ns.wrap([process.execPath, '--import', 'tsx', NODE_PEER, 'serve', String(PORT), f.data, f.ih, String(PIECE_LEN), policy]));
    procs.push(ours);
    await ours.waitFor(/READY/);
    const lt = run(ns.wrap([PYTHON, LT_SCRIPT, 'download', f.torrent, path.join(f.dir, 'get'), String(PORT), level]));
    procs.push(lt);
    const [ltOut, ourOut] = await Promise.all([lt.lines, ours.lines]);
    return { theirs: lastJson(ltOut), mine: lastJson(ourOut), size: f.size };
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    ns.remove();
    f.remove();
  }
}

/** Our initiateMse downloads from a libtorrent seed; both sides' JSON summaries. */
async function weDownloadFromLt(level: Level, policy: EncryptionPolicy) {
  const f = fixture();
  const ns = createNetns();
  const procs: Run[] = [];
  try {
    const lt = run(ns.wrap([PYTHON, LT_SCRIPT, 'seed', f.torrent, path.dirname(f.data), String(PORT), level]));
    procs.push(lt);
    await lt.waitFor(/"ready": true/);
    const ours = run(ns.wrap([process.execPath, '--import', 'tsx', NODE_PEER, 'dial', String(PORT), f.data, f.ih, String(PIECE_LEN), policy]));
    procs.push(ours);
    const mine = lastJson(await ours.lines);
    lt.child.stdin!.end(); // libtorrent reports and exits
    return { mine, theirs: lastJson(await lt.lines) };
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    ns.remove();
    f.remove();
  }
}

const OPTS = { timeout: 60_000 };

// Under allow we take plaintext when offered (libtorrent's own default); under prefer, RC4.
for (const [level, policy, selected] of [['rc4', 'require', 'rc4'], ['both', 'prefer', 'rc4'], ['both', 'allow', 'plaintext']] as const) {
  test(`libtorrent (MSE forced, ${level}) downloads a whole torrent from our acceptMse (${policy}): ${selected}`, OPTS, async (t) => {
    if (!requireNetns(t) || !requireLibtorrent(t)) return;
    const { theirs, mine, size } = await ltDownloadsFromUs(level, policy);
    t.diagnostic(`libtorrent: ${JSON.stringify(theirs)}; ours: ${JSON.stringify(mine)}`);
    assert.equal(theirs['complete'], true, 'libtorrent completed the download (every piece hash-checked)');
    assert.equal(theirs['rc4'], selected === 'rc4', `libtorrent reports the connection ${selected}`);
    assert.equal(mine['opening'], 'mse', 'the classifier saw an MSE opening');
    assert.equal(mine['selected'], selected);
    assert.equal(mine['theirHandshakeOk'], true, "IA carried libtorrent's BitTorrent handshake");
    assert.ok((mine['served'] as number) >= size, `we served at least ${size} bytes: ${String(mine['served'])}`);
  });
}

for (const [level, policy, selected] of [['rc4', 'require', 'rc4'], ['both', 'prefer', 'plaintext']] as const) {
  test(`our initiateMse (${policy}) downloads a whole torrent from libtorrent (MSE forced, ${level}): ${selected}`, OPTS, async (t) => {
    if (!requireNetns(t) || !requireLibtorrent(t)) return;
    const { mine, theirs } = await weDownloadFromLt(level, policy);
    t.diagnostic(`ours: ${JSON.stringify(mine)}; libtorrent: ${JSON.stringify(theirs)}`);
    assert.equal(mine['selected'], selected);
    assert.equal(mine['theirHandshakeOk'], true);
    assert.equal(mine['identical'], true, 'every byte came through intact');
    assert.equal(theirs['mse'], true, 'libtorrent reports the connection as MSE');
    assert.equal(theirs['rc4'], selected === 'rc4');
  });
}
