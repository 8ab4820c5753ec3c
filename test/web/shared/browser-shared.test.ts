/**
 * The shared web layer in a real chromium: dom.ts keeps hostile text as text, chart.ts draws and
 * labels, live.ts applies SSE updates and reconnects after the server drops the stream.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { Browser } from 'playwright-core';
import { createStaticFiles, SHARED_WEB_FILES } from '../../../src/dashboard/static.ts';
import { SseHub } from '../../../src/dashboard/sse.ts';
import { html, pageShell } from '../../../src/dashboard/html.ts';
import { sendHtml } from '../../../src/dashboard/respond.ts';
import { launchBrowser, PAINTED_PIXELS, waitForPage, watchedPage } from '../../support/browser.ts';

const HOSTILE = '<img src=x onerror=alert(1)>';

// The page's script: a module of this test, served as /test.js next to the shared modules.
const TEST_MODULE = `
import { el, replaceChildren, slots, fillSlots } from '/static/shared/dom.js';
import { LineChart } from '/static/shared/chart.js';
import { connectLive } from '/static/shared/live.js';
const list = document.getElementById('list');
replaceChildren(list, [el('li', { text: ${JSON.stringify(HOSTILE)}, attrs: { title: ${JSON.stringify(HOSTILE)} } })]);
let refused = 'no';
try { el('a', { attrs: { href: 'javascript:alert(1)' } }); } catch { refused = 'yes'; }
document.body.dataset.refused = refused;
const chart = new LineChart(document.getElementById('chart'), { series: [{ label: 'announces/s', color: '#1f6feb' }], windowMs: 60000 });
const now = Date.now();
chart.setPoints([0, 1, 2, 3].map((i) => ({ t: now - (3 - i) * 1000, values: [i * 10] })));
const found = slots();
connectLive({ url: '/events', onUpdate: (d) => fillSlots(found, { n: d.n, name: d.name }), onStatus: (s) => (document.body.dataset.live = s) });
`;

let browser: Browser | null = null;
let server: http.Server;
let port = 0;
let n = 0;
const hub = new SseHub({ intervalMs: 100, produce: () => ({ n: ++n, name: HOSTILE }) });

before(async () => {
  const statics = createStaticFiles(SHARED_WEB_FILES);
  server = http.createServer((req, res) => {
    const p = (req.url ?? '').split('?')[0]!;
    if (statics.serve(req, res, p)) return;
    if (p === '/test.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(TEST_MODULE);
    if (p === '/events') return hub.accept(req, res);
    const body = html`<ul id="list"></ul><p>n=<span data-slot="n">0</span> <span data-slot="name">-</span></p><canvas id="chart" class="chart"></canvas>`;
    sendHtml(res, 200, pageShell({ title: 'shared', body }).replace('</head>', '<script type="module" src="/test.js"></script></head>'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  await browser?.close();
  hub.close();
  server.closeAllConnections();
  server.close();
});

test('dom, chart and live in chromium: text stays text, the chart is labelled, updates arrive and resume', async (t) => {
  browser = await launchBrowser(t);
  if (browser === null) return;
  const w = await watchedPage(browser);
  await w.page.goto(`http://127.0.0.1:${port}/`);
  await waitForPage(w.page, "document.body.dataset.live === 'live'");
  assert.equal(await w.page.locator('#list li').textContent(), HOSTILE);
  assert.equal(await w.page.locator('#list li').getAttribute('title'), HOSTILE);
  assert.equal(await w.page.locator('img').count(), 0);
  assert.equal(await w.page.locator('body').getAttribute('data-refused'), 'yes');
  assert.equal(await w.page.locator('#chart').getAttribute('aria-label'), 'announces/s: 30');
  // The canvas has ink on it (a line and labels), not a blank bitmap.
  const inked = Number(await w.page.evaluate(PAINTED_PIXELS('#chart')));
  assert.ok(inked > 500, `painted pixels: ${inked}`);
  await waitForPage(w.page, "Number(document.querySelector('[data-slot=n]').textContent) >= 3");
  assert.equal(await w.page.locator('[data-slot=name]').textContent(), HOSTILE);
  // The server drops every stream: the page reconnects and counts on.
  hub.close();
  const at = n;
  await waitForPage(w.page, `Number(document.querySelector('[data-slot=n]').textContent) > ${at}`, 15_000);
  assert.deepEqual(w.dialogs, []);
  assert.deepEqual(w.errors, []);
  await w.context.close();
});
