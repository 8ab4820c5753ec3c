// The Node UDP floors of bench/tracker-udp.ts: a socket answering every BEP 15 connect and
// announce with a fixed answer of the tracker's size (16 bytes; 20 + 19 x 6 bytes), no parsing
// beyond the action, no connection id check, no store. What no Node UDP tracker can beat under the
// same load on this machine:
//   dgram  one 'message' event and one send per datagram, as node:dgram offers
//   batch  the tracker's native addon (native/udp-batch): one JS call per recvmmsg batch, one
//          sendmmsg per batch, each answer copied into the out slots as the tracker does
//   node bench/udp-floor-server.mjs PORT [dgram|batch]
import dgram from 'node:dgram';
import { createRequire } from 'node:module';

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'dgram';
if (!Number.isInteger(port) || port < 1 || port > 65535 || (mode !== 'dgram' && mode !== 'batch')) {
  console.error('usage: node bench/udp-floor-server.mjs PORT [dgram|batch]');
  process.exit(2);
}
const connectAnswer = Buffer.alloc(16);
const announceAnswer = Buffer.alloc(20 + 19 * 6);
announceAnswer.writeUInt32BE(1, 0);
announceAnswer.writeUInt32BE(1800, 8);
announceAnswer.writeUInt32BE(15, 12);
announceAnswer.writeUInt32BE(5, 16);
connectAnswer.writeBigUInt64BE(0x0123456789abcdefn, 8);
const templateOf = (action) => (action === 0 ? connectAnswer : action === 1 ? announceAnswer : undefined);

function dgramFloor() {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 16) return;
    const template = templateOf(msg.readUInt32BE(8));
    if (!template) return;
    // A buffer per answer, as a tracker has: a send that cannot leave at once keeps a reference.
    const answer = Buffer.allocUnsafe(template.length);
    template.copy(answer);
    answer.writeUInt32BE(msg.readUInt32BE(12), 4); // the transaction id
    socket.send(answer, rinfo.port, rinfo.address);
  });
  socket.on('error', (err) => {
    console.error(`udp floor: ${err.message}`);
    process.exit(1);
  });
  socket.bind(port, '127.0.0.1', () => console.log(`udp floor server on 127.0.0.1:${port} (dgram)`));
}

// The layout of native/udp-batch/udp_batch.h; answers beyond what the kernel takes are dropped.
function batchFloor() {
  const addon = createRequire(import.meta.url)('../native/udp-batch/build/Release/udp_batch.node');
  const [SLOT, IN, OUT, IN_META, OUT_META] = [2048, 64, 512, 80, 32];
  const inData = Buffer.alloc(IN * SLOT), inMeta = Buffer.alloc(IN * IN_META);
  const outData = Buffer.alloc(OUT * SLOT), outMeta = Buffer.alloc(OUT * OUT_META);
  let handle;
  const onBatch = (n) => {
    let out = 0;
    for (let i = 0; i < n; i++) {
      const m = i * IN_META;
      const length = inMeta.readUInt32LE(m);
      if (inMeta[m + 6] === 0 || length < 16) continue;
      const template = templateOf(inData.readUInt32BE(i * SLOT + 8));
      if (!template) continue;
      template.copy(outData, out * SLOT);
      outData.writeUInt32BE(inData.readUInt32BE(i * SLOT + 12), out * SLOT + 4);
      outMeta.writeUInt32LE(template.length, out * OUT_META);
      inMeta.copy(outMeta, out * OUT_META + 4, m + 4, m + 28);
      out++;
    }
    if (out) addon.send(handle, 0, out);
  };
  handle = addon.open(4, '127.0.0.1', port, false, 4 << 20, inData, inMeta, IN, outData, outMeta, OUT, SLOT, onBatch, () => {});
  console.log(`udp floor server on 127.0.0.1:${port} (batch)`);
}

process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
if (mode === 'batch') batchFloor();
else dgramFloor();
