/**
 * The fast path's HTTP answers, head and body in one Buffer for one plain write: a corked head
 * string plus body goes through the stream's buffering and a writev that converts the string, at
 * a cost per answer; a raw connection (src/net/raw-accept.ts) has no stream at all. Pure.
 */
import { intLength, putBytes, putInt } from '../protocol/decimal.ts';

const STATUS_LINE = {
  200: Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ', 'latin1'),
  500: Buffer.from('HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: ', 'latin1'),
};
const HEAD_REST = Buffer.from('\r\nCache-Control: no-store\r\n\r\n', 'latin1');
const HEAD_REST_CLOSE = Buffer.from('\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n', 'latin1');

/** The body of the 500 answer to a request whose handler threw. */
export const INTERNAL_ERROR = Buffer.from('internal error\n');

/** `body` with its head: a text/plain answer never cached, saying `Connection: close` when `close`. */
export function httpAnswer(status: 200 | 500, body: Buffer, close: boolean): Buffer {
  const line = STATUS_LINE[status];
  const rest = close ? HEAD_REST_CLOSE : HEAD_REST;
  const out = Buffer.allocUnsafe(line.length + intLength(body.length) + rest.length + body.length);
  let at = putBytes(out, 0, line);
  at = putInt(out, at, body.length);
  at = putBytes(out, at, rest);
  putBytes(out, at, body);
  return out;
}
