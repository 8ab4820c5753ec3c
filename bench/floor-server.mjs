// The floor of Node on this machine, for BENCHMARKS.md's tracker analysis: a server that answers
// every request with a fixed 300-byte body and does nothing else (no parsing, no store).
//
//   node bench/floor-server.mjs http|net PORT
//   wrk -t2 -c64 -d6s -s bench/announce.lua http://127.0.0.1:PORT -- HASHFILE 20 20000
//
// `http`: http.createServer; `net`: a raw socket server that finds each head's CRLF CRLF.
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
  net
    .createServer({ noDelay: true }, (s) => {
      let pending = null;
      s.on('data', (d) => {
        pending = pending ? Buffer.concat([pending, d]) : d;
        for (let i = pending.indexOf(HEAD_END); i >= 0; i = pending.indexOf(HEAD_END)) {
          s.write(answer);
          pending = pending.subarray(i + 4);
        }
      });
      s.on('error', () => s.destroy());
    })
    .listen(Number(port), '127.0.0.1');
}
console.log(`floor server (${mode}) on 127.0.0.1:${port}`);
