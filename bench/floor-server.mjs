// The floor of Node on this machine, for BENCHMARKS.md's tracker analysis: a server that answers
// every request with a fixed 300-byte body and does nothing else (no parsing, no store).
//
//   node bench/floor-server.mjs http|net PORT
//   wrk -t2 -c64 -d6s -s bench/announce.lua http://127.0.0.1:PORT -- HASHFILE 20 20000
//
// `http`: http.createServer; `net`: a raw socket server that finds each head's CRLF CRLF, its
// reads in one shared buffer as the tracker's fast path does (src/tracker/fast-path.ts).
import http from 'node:http';
import net from 'node:net';

const [mode = 'http', port = '7001'] = process.argv.slice(2);
const body = Buffer.alloc(300, 0x61);
const HEAD_END = Buffer.from('\r\n\r\n');

if (mode === 'http') {
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      res.end(body);
    })
    .listen(Number(port), '127.0.0.1');
} else {
  const answer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
  const shared = Buffer.allocUnsafeSlow(64 * 1024);
  net
    .createServer({ noDelay: true }, (s) => {
      let pending = null;
      const onData = (d) => {
        pending = pending ? Buffer.concat([pending, d]) : d;
        for (let i = pending.indexOf(HEAD_END); i >= 0; i = pending.indexOf(HEAD_END)) {
          s.write(answer);
          pending = pending.subarray(i + 4);
        }
      };
      const symbols = Object.getOwnPropertySymbols(s);
      const kBuffer = symbols.find((x) => x.description === 'kBuffer');
      const kBufferCb = symbols.find((x) => x.description === 'kBufferCb');
      if (kBuffer && kBufferCb && typeof s._handle?.useUserBuffer === 'function') {
        s[kBuffer] = shared;
        s[kBufferCb] = (n) => {
          onData(shared.subarray(0, n));
          if (pending) pending = pending.length ? Buffer.from(pending) : null;
        };
        s._handle.useUserBuffer(shared);
      } else s.on('data', onData);
      s.on('error', () => s.destroy());
    })
    .listen(Number(port), '127.0.0.1');
}
console.log(`floor server (${mode}) on 127.0.0.1:${port}`);
