/**
 * src/tracker/http/http-answer.ts: the fast path's answers, byte for byte, and read back by Node's
 * own HTTP client parser (the bytes a client gets are a valid HTTP/1.1 answer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpAnswer, INTERNAL_ERROR } from '../../../src/tracker/http/http-answer.ts';
import { parseResponseHead } from '../../../src/net/http-head.ts';

test('200 keep-alive, 200 close and 500: exact bytes', () => {
  const body = Buffer.from('d8:intervali1800ee');
  assert.equal(
    httpAnswer(200, body, false).toString('latin1'),
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nCache-Control: no-store\r\n\r\nd8:intervali1800ee',
  );
  assert.equal(
    httpAnswer(200, body, true).toString('latin1'),
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nd8:intervali1800ee',
  );
  assert.equal(
    httpAnswer(500, INTERNAL_ERROR, true).toString('latin1'),
    'HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 15\r\nCache-Control: no-store\r\nConnection: close\r\n\r\ninternal error\n',
  );
});

test('Content-Length is the body length for empty, 1-digit to 7-digit bodies, and the body follows the head unchanged', () => {
  for (const n of [0, 9, 10, 99, 100, 12_345, 1_000_000]) {
    const body = Buffer.alloc(n, 0xff);
    for (const close of [false, true]) {
      const out = httpAnswer(200, body, close);
      const end = out.indexOf('\r\n\r\n');
      const head = parseResponseHead(out.toString('latin1', 0, end));
      assert.ok(typeof head !== 'string', String(head));
      assert.equal(head.status, 200);
      assert.equal(head.contentLength, n);
      assert.equal(head.close, close);
      assert.ok(out.subarray(end + 4).equals(body), `the body follows the head (n ${n}, close ${close})`);
    }
  }
});
