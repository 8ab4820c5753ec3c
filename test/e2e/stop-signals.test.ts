/**
 * SIGTERM / SIGINT at any moment of a requester's life end it with an exit status of its own,
 * never by the signal itself: 130 (interrupted) before its download is complete, else 0 with the
 * closing `Stopped seeding` line. Moments: its prompt, right after it names the torrent, the
 * switch from downloading to seeding, seeding, a second signal while it stops, a complete
 * download found on disk, and random delays.
 *
 * The tracker here answers `started` at once but never answers `completed` or `stopped`: the
 * requester then spends the whole of its bounded waits in the download -> seeding switch (500 ms)
 * and in its stop (a few s), which makes those moments wide enough to hit every time.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { freePort, type Proc } from '../support/procs.ts';
import { Scope, exitWithin, startSeeder } from '../support/bad-peers.ts';

interface Ending {
  what: string;
  /** From the last signal to the exit. */
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** A tracker that lists nobody and leaves `completed` and `stopped` announces unanswered. */
async function stallingTracker(scope: Scope): Promise<string> {
  const held = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (/[?&]event=(completed|stopped)(&|$)/.test(req.url ?? '')) {
      held.add(req.socket);
      return;
    }
    res.end('d8:intervali1800e5:peers0:e');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  scope.defer(async () => {
    for (const s of held) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
}

interface SignalOptions {
  /** Its arguments before the flags (default: the seeder's torrent; none: it asks). */
  torrent?: string[];
  out?: string;
  /** Between two signals. */
  gapMs?: number;
  /** From the line to the first signal. */
  afterMs?: number;
}

const CLOSING = /^Stopped seeding sig\.bin: uploaded .* \(ratio [\d.]+\) in \d+ s$/m;

/** Its exit status, its signal (if the signal killed it) and its output, once it ended. */
async function ending(what: string, proc: Proc): Promise<Ending> {
  const t0 = Date.now();
  const code = await exitWithin(proc, 20_000, what);
  return { what, ms: Date.now() - t0, code, signal: proc.child.signalCode, out: proc.out(), err: proc.err() };
}

const describeEnding = (e: Ending) => `${e.what}: exit ${e.code} (signal ${e.signal})\nstdout:\n${e.out}\nstderr:\n${e.err}`;

/** Expected: a status of its own; 0 after its closing line, 130 before `ready` (its download complete, its torrents served). */
function wrongEnding(e: Ending, ready: RegExp, expected?: 0 | 130): string | undefined {
  if (e.signal !== null || (e.code !== 0 && e.code !== 130)) return `not ended by a status of its own: ${describeEnding(e)}`;
  if (expected !== undefined && e.code !== expected) return `exit ${expected} expected: ${describeEnding(e)}`;
  if (e.code === 0 && !CLOSING.test(e.out)) return `exit 0 without its closing line: ${describeEnding(e)}`;
  if (e.code === 130 && ready.test(e.out)) return `exit 130 after ${ready}: ${describeEnding(e)}`;
  return undefined;
}

function assertCleanStops(t: TestContext, endings: Array<[Ending, (0 | 130)?]>, ready: RegExp): void {
  for (const [e] of endings) t.diagnostic(`${e.what}: exit ${e.code} (signal ${e.signal}) ${e.ms} ms after the last signal`);
  const wrong = endings.map(([e, expected]) => wrongEnding(e, ready, expected)).filter((w) => w !== undefined);
  assert.deepEqual(wrong, [], `${wrong.length} of ${endings.length} did not stop cleanly:\n${wrong.join('\n\n')}`);
}

test('a requester stops cleanly on SIGTERM/SIGINT at every moment of its life', { timeout: 120_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-signals-');
    const data = randomBytes(256 * 1024 + 123);
    await writeFile(path.join(dir, 'sig.bin'), data);
    // A complete download already on disk, for the requester that verifies it and seeds it.
    await mkdir(path.join(dir, 'done'));
    await writeFile(path.join(dir, 'done', 'sig.bin'), data);
    const announce = await stallingTracker(scope);
    const seeder = await startSeeder(scope, dir, 'sig.bin', announce, ['--piece-length', '32K', '--no-web-seed']);
    let n = 0;
    const requester = async (torrent: string[], out = `r${n++}`) => {
      const port = await freePort();
      return scope.spawn('requester', [...torrent, '--port', String(port), '--out', out, '--peer', `127.0.0.1:${seeder.port}`, '--wait', '20'], dir);
    };
    /** Start a requester, send `signals` (in turn, `gapMs` apart) once `line` shows, and see how it ends. */
    const signalAt = async (what: string, line: RegExp, signals: NodeJS.Signals[], o: SignalOptions = {}) => {
      const proc = await requester(o.torrent ?? [seeder.torrent], o.out);
      await proc.waitFor(line, 60_000);
      if (o.afterMs) await new Promise((r) => setTimeout(r, o.afterMs));
      for (const [i, s] of signals.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, o.gapMs ?? 100));
        proc.kill(s);
      }
      return ending(what, proc);
    };

    const at = (what: string, line: RegExp, signals: NodeJS.Signals[], expected?: 0 | 130, o: SignalOptions = {}) =>
      signalAt(what, line, signals, o).then((e): [Ending, (0 | 130)?] => [e, expected]);
    const prompt = /Enter the path to the \.torrent file:/;
    const downloaded = /^File downloaded: sig\.bin/m;
    const seeding = /^Seeding sig\.bin on /m;
    // All at once: the load of many programs starting together is part of the test.
    const endings = await Promise.all([
      at('SIGTERM at the prompt', prompt, ['SIGTERM'], 130, { torrent: [] }),
      at('SIGINT at the prompt', prompt, ['SIGINT'], 130, { torrent: [] }),
      at('right after it names the torrent', /^Retrieved info_hash/m, ['SIGTERM']),
      at('SIGTERM the moment the download is complete', downloaded, ['SIGTERM'], 0),
      at('SIGINT then SIGTERM the moment the download is complete', downloaded, ['SIGINT', 'SIGTERM'], 0, { gapMs: 200 }),
      at('while seeding', seeding, ['SIGTERM'], 0),
      at('three times while seeding (again while it stops)', seeding, ['SIGTERM', 'SIGTERM', 'SIGINT'], 0, { gapMs: 300 }),
      at('the moment it finds a complete download on disk', /^File already complete: sig\.bin/m, ['SIGTERM'], 0, { out: 'done' }),
      // Random moments from its first line on: start-up, download, switch, seeding.
      ...Array.from({ length: 5 }, (_, i) => at(`random moment ${i}`, /^Retrieved info_hash/m, [i % 2 ? 'SIGINT' : 'SIGTERM'], undefined, { afterMs: Math.floor(Math.random() * 1500) })),
    ]);
    assertCleanStops(t, endings, /^File downloaded/m);
  } finally {
    await scope.dispose();
  }
});

const PROMPT = /Enter the file name to share :/;

test('a seeder stops cleanly on SIGTERM/SIGINT at its prompt, while it hashes, as it starts serving, and while it stops', { timeout: 60_000 }, async (t) => {
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-signals-');
    const data = randomBytes(8 * 1024 * 1024);
    const announce = await stallingTracker(scope);
    /** A seeder in a folder of its own, told `sig.bin` at its prompt; `signals` sent once `line` shows (and `afterMs`). */
    const signalAt = async (i: number, line: RegExp, signals: NodeJS.Signals[], expected?: 0 | 130, afterMs = 0): Promise<[Ending, (0 | 130)?]> => {
      const cwd = path.join(dir, `s${i}`);
      await mkdir(cwd);
      await writeFile(path.join(cwd, 'sig.bin'), data);
      const proc = scope.spawn('seeder', ['--port', String(await freePort()), '--tracker', announce], cwd);
      await proc.waitFor(PROMPT, 30_000);
      if (line.source !== PROMPT.source) proc.write('sig.bin\n');
      await proc.waitFor(line, 30_000);
      if (afterMs) await new Promise((r) => setTimeout(r, afterMs));
      for (const [k, s] of signals.entries()) {
        if (k > 0) await new Promise((r) => setTimeout(r, 300));
        proc.kill(s);
      }
      return [await ending(`seeder ${i}: ${signals.join(', ')} ${afterMs} ms after ${line}`, proc), expected];
    };
    const answered = /Enter the file name to share : sig\.bin$/m;
    const endings = await Promise.all([
      signalAt(0, PROMPT, ['SIGTERM'], 130),
      signalAt(1, answered, ['SIGTERM']),
      signalAt(2, /^\* Running on /m, ['SIGTERM'], 0),
      signalAt(3, /^\* Running on /m, ['SIGINT', 'SIGTERM', 'SIGINT'], 0),
      // From the answer on: hashing, listening, the first announce, serving.
      ...Array.from({ length: 3 }, (_, i) => signalAt(4 + i, answered, [i % 2 ? 'SIGINT' : 'SIGTERM'], undefined, Math.floor(Math.random() * 600))),
    ]);
    assertCleanStops(t, endings, /^\* Running on /m);
  } finally {
    await scope.dispose();
  }
});
