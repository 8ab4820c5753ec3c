// The floor of Node on this machine, for BENCHMARKS.md's tracker analysis: a server that answers
// every request with a fixed 300-byte body and does nothing else (no parsing, no store).
//
//   node bench/floor-server.mjs http|net|close PORT
//   wrk -t2 -c64 -d6s -s bench/announce.lua http://127.0.0.1:PORT -- HASHFILE 20 20000
//
// `http`: http.createServer; `net`: a raw socket server that finds each head's CRLF CRLF, its
// reads in one shared buffer as the tracker's fast path does (src/tracker/http/fast-path.ts);
// `close`: one request per connection, the floor of the tracker under `Connection: close` load:
// accept, read the head, answer with `Connection: close`, close. On libuv's TCP handles directly,
// with no net.Socket, as the tracker's raw accept does (src/net/raw-accept.ts); where this Node
// lacks that, on net.Sockets (write, then destroy: no shutdown and no wait for the client's FIN).
// The first line printed says which.
import http from 'node:http';
import net from 'node:net';

const [mode = 'http', port = '7001'] = process.argv.slice(2);
const body = Buffer.alloc(300, 0x61);
const HEAD_END = Buffer.from('\r\n\r\n');
const head = (extra) => Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${extra}\r\n`);

/** Reads of `s` into `shared` (net.Socket's private `onread` hook), or 'data' events without it. */
function readInto(s, shared, onData) {
  const symbols = Object.getOwnPropertySymbols(s);
  const kBuffer = symbols.find((x) => x.description === 'kBuffer');
  const kBufferCb = symbols.find((x) => x.description === 'kBufferCb');
  if (kBuffer && kBufferCb && typeof s._handle?.useUserBuffer === 'function') {
    s[kBuffer] = shared;
    s[kBufferCb] = (n) => onData(shared.subarray(0, n), true);
    s._handle.useUserBuffer(shared);
  } else s.on('data', (d) => onData(d, false));
}

const shared = Buffer.allocUnsafeSlow(64 * 1024);
function onError() {
  this.destroy();
}

if (mode === 'http') {
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      res.end(body);
    })
    .listen(Number(port), '127.0.0.1');
} else if (mode === 'net') {
  const answer = Buffer.concat([head(''), body]);
  net
    .createServer({ noDelay: true }, (s) => {
      let pending = null;
      readInto(s, shared, (d, isShared) => {
        pending = pending ? Buffer.concat([pending, d]) : d;
        for (let i = pending.indexOf(HEAD_END); i >= 0; i = pending.indexOf(HEAD_END)) {
          s.write(answer);
          pending = pending.subarray(i + 4);
        }
        if (isShared && pending) pending = pending.length ? Buffer.from(pending) : null;
      });
      s.on('error', onError);
    })
    .listen(Number(port), '127.0.0.1');
} else if (mode === 'close') {
  const answer = Buffer.concat([head('Connection: close\r\n'), body]);
  const server = net.createServer({ noDelay: true }, (s) => {
    let pending = null;
    readInto(s, shared, (d) => {
      if (pending === undefined) return; // answered already
      pending = pending ? Buffer.concat([pending, d]) : d;
      if (pending.indexOf(HEAD_END) < 0) return void (pending = Buffer.from(pending));
      pending = undefined;
      s.write(answer);
      if (s.writableLength === 0) s.destroy();
      else s.destroySoon();
    });
    s.on('error', onError);
  });
  server.listen(Number(port), '127.0.0.1', () => {
    const how = acceptRaw(server, answer) ? 'raw handles' : 'net.Socket';
    console.log(`floor server (close, ${how}) on 127.0.0.1:${port}`);
  });
} else {
  console.error(`unknown mode ${mode}: http, net or close`);
  process.exit(2);
}
if (mode !== 'close') console.log(`floor server (${mode}) on 127.0.0.1:${port}`);

/**
 * Serve `server`'s connections on their libuv handles: the first head read gets `answer`, then the
 * handle is closed. False when this Node lacks the internals (process.binding('stream_wrap')).
 */
function acceptRaw(server, answer) {
  let wrap;
  try {
    wrap = process.binding('stream_wrap');
  } catch {
    return false;
  }
  const { WriteWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = wrap ?? {};
  const listen = server._handle;
  if (typeof WriteWrap !== 'function' || !streamBaseState || typeof listen?.onconnection !== 'function') return false;
  function onWriteDone() {
    this.handle.close();
  }
  function onRead() {
    const nread = streamBaseState[kReadBytesOrError];
    if (nread <= 0) return void (nread < 0 && this.close());
    if (this.pending === undefined) return; // answered already
    const d = shared.subarray(0, nread);
    const all = this.pending ? Buffer.concat([this.pending, d]) : d;
    if (all.indexOf(HEAD_END) < 0) return void (this.pending = Buffer.from(all));
    this.pending = undefined;
    const req = new WriteWrap();
    req.handle = this;
    req.oncomplete = onWriteDone;
    req.async = false;
    req.bytes = 0;
    req.buffer = answer;
    if (this.writeBuffer(req, answer) !== 0 || !streamBaseState[kLastWriteWasAsync]) this.close();
  }
  listen.onconnection = (err, h) => {
    if (err) return;
    h.pending = null;
    h.onread = onRead;
    h.useUserBuffer(shared);
    h.readStart();
  };
  return true;
}
