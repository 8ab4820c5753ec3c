import test from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html, Html, pageShell, CSP } from '../../src/dashboard/html.ts';

const HOSTILE = '<img src=x onerror=alert(1)>';

test('escapeHtml turns every markup character into an entity', () => {
  assert.equal(escapeHtml(`${HOSTILE}"'&\``), '&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;&#96;');
  assert.equal(escapeHtml('plain text'), 'plain text');
});

test('html`` escapes interpolations, keeps Html, joins arrays, drops null/undefined/false', () => {
  const name = HOSTILE;
  const out = html`<td title="${name}">${name}</td>${[html`<b>${'a<b'}</b>`, 'x>y']}${null}${undefined}${false}${0}`;
  assert.ok(out instanceof Html, 'html`` returns an Html value');
  assert.equal(out.text, '<td title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</td><b>a&lt;b</b>x&gt;y0');
  assert.ok(!out.text.includes('<img'), `the hostile <img> is escaped: ${out.text}`);
});

test('an attribute value cannot be closed by a quote', () => {
  const out = html`<a title="${'" onmouseover="alert(1)'}">x</a>`.text;
  assert.equal(out, '<a title="&quot; onmouseover=&quot;alert(1)">x</a>');
});

test('pageShell: title escaped, module scripts from /static/, data attributes escaped, stylesheet linked', () => {
  const page = pageShell({ title: HOSTILE, body: html`<main>${HOSTILE}</main>`, scripts: ['tracker.js'], data: { 'info-hash': '"><script>' } });
  assert.match(page, /^<!doctype html>/);
  assert.ok(page.includes('<title>&lt;img src=x onerror=alert(1)&gt;</title>'), `the title is escaped: ${page}`);
  assert.ok(page.includes('<script type="module" src="/static/tracker.js"></script>'), `the module script is loaded from /static/: ${page}`);
  assert.ok(page.includes('<link rel="stylesheet" href="/static/dashboard.css">'), `the stylesheet is linked: ${page}`);
  assert.ok(page.includes('data-info-hash="&quot;&gt;&lt;script&gt;"'), `the data attribute is escaped: ${page}`);
  assert.equal(page.match(/<script/g)?.length, 1);
  assert.ok(!page.includes('<img'), `no raw <img> in the page: ${page}`);
});

test('the CSP allows our own origin only, no inline script', () => {
  assert.match(CSP, /default-src 'self'/);
  assert.doesNotMatch(CSP, /unsafe-inline|unsafe-eval|\*/);
});
