/**
 * The peer dashboard in a real chromium, over real processes (tracker, capped seeder, requester):
 * the requester's page fills its piece map live and reaches 100 % with the file exact on disk; a
 * torrent named `<img src=x onerror=alert(1)>` shows as text (no dialog, no injected element);
 * no console errors; with JavaScript off the page still shows the name and the numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Scope, sha1, startRequester, startSeeder, until } from '../support/bad-peers.ts';
import { startTracker } from '../support/procs.ts';
import { launchBrowser, waitForPage, watchedPage } from '../support/browser.ts';
import { rawRequest } from '../support/raw-request.ts';

const HOSTILE = '<img src=x onerror=alert(1)>';
const SIZE = 5 * 1024 * 1024 + 777;

/** Page expression: pixels of the piece map in the verified colour. */
const GREEN_PIXELS = `(() => {
  const c = document.querySelector('canvas.piece-map');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] === 46 && d[i + 1] === 158 && d[i + 2] === 91) n++;
  return n;
})()`;

const verifiedShown = `Number(document.querySelector('section.torrent').dataset.verified ?? -1)`;

test('a requester\'s page fills its piece map live to 100 %; a hostile name stays text', { timeout: 90_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === null) return;
  const scope = new Scope();
  try {
    const dir = await scope.dir('p2p-peer-page-');
    const data = randomBytes(SIZE);
    await writeFile(path.join(dir, HOSTILE), data);
    const tracker = await startTracker(dir, ['--interval', '2']);
    scope.adopt(tracker.proc);
    // About 5 s of transfer: long enough to watch the map fill, even on a loaded machine.
    const seeder = await startSeeder(scope, dir, HOSTILE, tracker.announce, ['--piece-length', '32K', '--max-upload-rate', '1M', '--no-web-seed']);
    const req = await startRequester(scope, dir, seeder.torrent, ['--out', 'r', '--wait', '30']);
    await until(async () => (await rawRequest({ port: req.port, path: '/api/torrents' }).catch(() => null))?.status === 200, 10_000, 'the requester serving');

    const w = await watchedPage(browser);
    await w.page.goto(`http://127.0.0.1:${req.port}/`);
    await waitForPage(w.page, `document.getElementById('live-status').dataset.state === 'live'`);
    await waitForPage(w.page, `${verifiedShown} > 0`, 20_000);
    const early = { verified: Number(await w.page.evaluate(verifiedShown)), green: Number(await w.page.evaluate(GREEN_PIXELS)) };
    const pieceCount = Math.ceil(SIZE / (32 * 1024));
    assert.ok(early.verified < pieceCount, `seen while filling: ${early.verified} of ${pieceCount}`);
    await waitForPage(w.page, `document.querySelector('section.torrent').dataset.progress === '1'`, 30_000);
    const late = Number(await w.page.evaluate(GREEN_PIXELS));
    assert.ok(late > early.green && early.green > 0, `green pixels ${early.green} -> ${late}`);
    assert.equal(await w.page.locator('[data-slot=progress]').textContent(), '100.0 %');
    assert.equal(await w.page.locator('[data-slot=pieces]').textContent(), `${pieceCount} / ${pieceCount}`);
    await req.proc.waitFor(/^File downloaded: /m, 10_000);
    assert.equal(sha1(await readFile(path.join(dir, 'r', HOSTILE))), sha1(data));

    // The name, from the torrent, as text everywhere it appears; nothing injected ran.
    assert.equal(await w.page.locator('h2.name').textContent(), HOSTILE);
    assert.equal(await w.page.locator('table.files tbody td').first().textContent(), HOSTILE);
    assert.equal(await w.page.locator('img').count(), 0);
    assert.deepEqual(w.dialogs, []);
    assert.deepEqual(w.errors, []);
    await w.context.close();

    const off = await watchedPage(browser, { javaScriptEnabled: false });
    await off.page.goto(`http://127.0.0.1:${seeder.port}/`);
    assert.equal(await off.page.locator('h2.name').textContent(), HOSTILE);
    assert.equal(await off.page.locator('[data-slot=progress]').textContent(), '100.0 %');
    assert.ok(Number(await off.page.locator('table.peers tbody tr').count()) >= 1, 'at least one peer row without JavaScript');
    assert.equal(await off.page.locator('img').count(), 0);
    assert.deepEqual(off.dialogs, []);
    await off.context.close();
  } finally {
    await browser.close();
    await scope.dispose();
  }
});
