/** parseResponseHead alone: the response heads the PieceClient takes and the ones it refuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResponseHead } from '../../src/net/http-head.ts';

test('status, Content-Length, chunked and keep-alive', () => {
  assert.deepEqual(parseResponseHead('HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nX-Other: y'), { status: 206, contentLength: 100, chunked: false, close: false });
  assert.deepEqual(parseResponseHead('HTTP/1.1 200'), { status: 200, contentLength: undefined, chunked: false, close: false });
  assert.deepEqual(parseResponseHead('HTTP/1.0 200 OK\r\ncontent-length:  5 '), { status: 200, contentLength: 5, chunked: false, close: true }, 'HTTP/1.0 closes');
  assert.equal((parseResponseHead('HTTP/1.0 200 OK\r\nConnection: Keep-Alive') as { close: boolean }).close, false);
  assert.equal((parseResponseHead('HTTP/1.1 200 OK\r\nConnection: close') as { close: boolean }).close, true);
  assert.equal((parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked') as { chunked: boolean }).chunked, true);
  assert.equal((parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7') as { contentLength: number }).contentLength, 7, 'a repeated equal length is fine');
});

test('malformed heads say what is wrong', () => {
  assert.equal(parseResponseHead(''), 'malformed HTTP status line');
  assert.equal(parseResponseHead('HTTP/2 200 OK'), 'malformed HTTP status line');
  assert.equal(parseResponseHead('HTTP/1.1 20 OK'), 'malformed HTTP status line');
  assert.equal(parseResponseHead('\x00\x01\x02'), 'malformed HTTP status line');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nnocolon'), 'malformed HTTP header');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\n: empty name'), 'malformed HTTP header');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: -1'), 'bad Content-Length');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456'), 'bad Content-Length');
  assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Length: 5'), 'bad Content-Length');
});
