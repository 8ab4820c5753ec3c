import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createStaticFiles } from '../../src/dashboard/static.ts';
import { rawRequest } from '../support/raw-request.ts';

async function withServer(webDir: string, files: string[], body: (port: number) => Promise<void>): Promise<void> {
  const statics = createStaticFiles(files, webDir);
  const server = http.createServer((req, res) => {
    if (!statics.serve(req, res, (req.url ?? '').split('?')[0]!)) res.writeHead(404).end('not ours\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await body((server.address() as net.AddressInfo).port);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('listed files are served with their type and an ETag; anything else is not ours', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p2p-static-'));
  try {
    await mkdir(path.join(dir, 'shared'));
    await writeFile(path.join(dir, 'shared', 'a.js'), 'export const a = 1;\n');
    await writeFile(path.join(dir, 'secret.js'), 'not listed\n');
    await withServer(dir, ['shared/a.js', 'missing.js'], async (port) => {
      const base = `http://127.0.0.1:${port}`;
      const js = await fetch(`${base}/static/shared/a.js`);
      assert.equal(js.status, 200);
      assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(await js.text(), 'export const a = 1;\n');
      const etag = js.headers.get('etag')!;
      assert.match(etag, /^".+"$/);
      const again = await fetch(`${base}/static/shared/a.js`, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304);
      const css = await fetch(`${base}/static/dashboard.css`);
      assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
      assert.match(await css.text(), /font/);
      assert.equal((await fetch(`${base}/static/missing.js`)).status, 404, 'listed but not built');
      for (const p of ['/static/secret.js', '/static/../package.json', '/static/shared/../secret.js', '/static/%2e%2e/package.json', '/static/shared%2fa.js']) {
        const r = await rawRequest({ port, path: p });
        assert.equal(r.status, 404, p);
        assert.doesNotMatch(r.body.toString(), /not listed|"name"/, p);
      }
      const post = await fetch(`${base}/static/shared/a.js`, { method: 'POST' });
      assert.equal(post.status, 405);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
