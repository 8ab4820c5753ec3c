/**
 * Screenshots for the README (docs/screenshots/*.png) of a real swarm during its transfer: our
 * tracker, a seeder and three requesters (one speaking the BitTorrent protocol to everybody, so
 * every transport shows). Written only when P2P_SCREENSHOTS=1, so `npm test` never rewrites them:
 *   P2P_SCREENSHOTS=1 node --import tsx --test test/web/peer-screenshots.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Scope, getJson, startRequester, startSeeder, until } from '../support/bad-peers.ts';
import { ROOT, startTracker } from '../support/procs.ts';
import { launchBrowser, waitForPage, watchedPage } from '../support/browser.ts';
import { rawRequest } from '../support/raw-request.ts';
import type { TorrentSummary } from '../../src/peer/stats/views.ts';

const OUT = path.join(ROOT, 'docs', 'screenshots');
const MiB = 1024 * 1024;

test('screenshots of the tracker and peer dashboards during a transfer (P2P_SCREENSHOTS=1)', { timeout: 120_000 }, async (t) => {
  if (process.env['P2P_SCREENSHOTS'] !== '1') return t.skip('set P2P_SCREENSHOTS=1 to write docs/screenshots/*.png');
  const browser = await launchBrowser(t);
  if (browser === null) return;
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-shots-');
    await writeFile(path.join(dir, 'ubuntu-24.04-live.iso'), randomBytes(32 * MiB));
    const tracker = await startTracker(dir, ['--interval', '5']);
    scope.adopt(tracker.proc);
    const seeder = await startSeeder(scope, dir, 'ubuntu-24.04-live.iso', tracker.announce, ['--piece-length', '64K', '--max-upload-rate', '2M', '--no-web-seed']);
    const capped = ['--max-upload-rate', '1M', '--wait', '60', '--seed'];
    const reqs = [
      await startRequester(scope, dir, seeder.torrent, ['--out', 'r1', ...capped]),
      await startRequester(scope, dir, seeder.torrent, ['--out', 'r2', ...capped]),
      await startRequester(scope, dir, seeder.torrent, ['--out', 'r3', '--protocol', 'wire', ...capped]),
    ];
    const watched = reqs[0]!;
    const url = `http://127.0.0.1:${watched.port}`;
    await until(async () => {
      const s = await getJson<{ torrents: TorrentSummary[] }>(`${url}/api/torrents`).catch(() => undefined);
      return s && s.torrents[0]!.progress >= 0.4 && s.torrents[0]!.peers >= 2 ? true : undefined;
    }, 60_000, 'the watched requester 40 % done with peers');

    await mkdir(OUT, { recursive: true });
    const w = await watchedPage(browser);
    await w.page.setViewportSize({ width: 1280, height: 1000 });
    for (const [name, port] of [['peer-requester', watched.port], ['peer-seeder', seeder.port]] as const) {
      await w.page.goto(`http://127.0.0.1:${port}/`);
      await waitForPage(w.page, `document.getElementById('live-status').dataset.state === 'live'`);
      await w.page.waitForTimeout(1500); // a few live rounds: the chart and the rates filled in
      await w.page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
    }
    const trackerPage = await rawRequest({ port: tracker.port, path: '/' });
    if (trackerPage.status === 200) {
      await w.page.goto(`http://127.0.0.1:${tracker.port}/`);
      await w.page.waitForTimeout(2500);
      await w.page.screenshot({ path: path.join(OUT, 'tracker.png'), fullPage: true });
    } else {
      t.diagnostic(`the tracker has no dashboard page here (HTTP ${trackerPage.status}): tracker.png not written`);
    }
    assert.deepEqual(w.dialogs, []);
    assert.deepEqual(w.errors, []);
    await w.context.close();
  } finally {
    await browser.close();
    await scope.dispose();
  }
});
