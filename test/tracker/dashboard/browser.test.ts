/**
 * The tracker dashboard in a real chromium against the real tracker program: the counts after
 * scripted announces, live updates without reloading, sorting and search in place, the hostile
 * name and peer_id shown as text (no dialog, no element), no console errors, and the numbers
 * with JavaScript off.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { TestScope } from '../../support/procs.ts';
import { launchBrowser, waitForPage, watchedPage } from '../../support/browser.ts';
import { DashboardWorld, HOSTILE, HOSTILE_PEER_ID, scriptedSwarm, torrent } from './world.ts';

const scope = new TestScope('p2p-dash-web-');
let w: DashboardWorld;
let browser: Browser | null = null;
before(async () => {
  w = await DashboardWorld.start(scope);
  await scriptedSwarm(w);
});
after(async () => {
  await browser?.close();
  await scope.cleanup();
});

const slot = (page: Page, name: string) => page.locator(`[data-slot=${name}]`).first().textContent();

test('live counts, chart, sorting and search in place, hostile strings as text, no console errors', async (t) => {
  browser = await launchBrowser(t);
  if (browser === null) return;
  const v = await watchedPage(browser);
  await v.page.goto(`${w.base}/`);
  await waitForPage(v.page, "document.getElementById('live-status').dataset.state === 'live'");
  assert.equal(await slot(v.page, 'swarms'), '13');
  assert.equal(await slot(v.page, 'seeders'), '20');
  // A marker that a reload would lose.
  await v.page.evaluate('window.notReloaded = true');

  await w.announce({ torrent: 20, port: 30020, left: 0 });
  await w.announce({ torrent: 21, port: 30021, left: 5 });
  await waitForPage(v.page, "document.querySelector('[data-slot=swarms]').textContent === '15'");
  assert.equal(await slot(v.page, 'leechers'), '12');
  await waitForPage(v.page, "/announces\\/s: [0-9]/.test(document.getElementById('rates').getAttribute('aria-label'))");

  // The hostile whitelist name is a table cell's text.
  await waitForPage(v.page, `[...document.querySelectorAll('#swarm-table td')].some((td) => td.textContent === ${JSON.stringify(HOSTILE)})`);

  await v.page.click('#swarm-table a[data-sort=seeders]');
  await waitForPage(v.page, "location.search.includes('sort=seeders')");
  await waitForPage(v.page, "document.querySelector('#swarm-table tbody tr td:nth-child(3)').textContent === '3'");
  const prefix = torrent(7).slice(0, 5);
  await v.page.fill('#search input[name=q]', prefix);
  await v.page.click('#search button');
  await waitForPage(v.page, `location.search.includes('q=${prefix}')`);
  const hashes = await v.page.locator('#swarm-table tbody td.mono').allTextContents();
  assert.ok(hashes.length >= 1 && hashes.every((h) => h.startsWith(prefix)), hashes.join(','));
  assert.equal(await v.page.evaluate('window.notReloaded'), true, 'updated in place, never reloaded');

  // A swarm's page: the hostile peer_id is text; the page refreshes itself.
  await v.page.goto(`${w.base}/swarm/${torrent(0)}`);
  await waitForPage(v.page, "document.getElementById('live-status').dataset.state === 'live'");
  assert.equal(await v.page.locator('#peer-table tbody td:nth-child(4)').first().textContent(), HOSTILE_PEER_ID);
  assert.equal(await v.page.locator('#swarm-name').textContent(), HOSTILE);

  assert.equal(await v.page.locator('img').count(), 0, 'no injected element');
  assert.deepEqual(v.dialogs, [], 'no dialog');
  assert.deepEqual(v.errors, [], 'no console errors');
  await v.context.close();
});

test('with JavaScript off the page shows the numbers', async (t) => {
  if (browser === null) browser = await launchBrowser(t);
  if (browser === null) return;
  const v = await watchedPage(browser, { javaScriptEnabled: false });
  await v.page.goto(`${w.base}/`);
  assert.match((await slot(v.page, 'swarms')) ?? '', /^1[35]$/);
  assert.equal(await v.page.locator('#live-status').getAttribute('data-state'), 'static');
  assert.ok((await v.page.locator('#swarm-table tbody tr').count()) >= 13, 'at least 13 swarm rows without JavaScript');
  assert.equal(await v.page.locator('img').count(), 0);
  assert.deepEqual(v.errors, []);
  await v.context.close();
});
