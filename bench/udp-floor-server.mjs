// The Node UDP floor of bench/tracker-udp.ts: a dgram socket answering every BEP 15 connect and
// announce with a fixed answer of the tracker's size (16 bytes; 20 + 19 x 6 bytes), no parsing
// beyond the action, no connection id check, no store. What no Node UDP tracker can beat under the
// same load on this machine: one 'message' event and one send per datagram, as node:dgram offers.
//   node bench/udp-floor-server.mjs PORT
import dgram from 'node:dgram';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node bench/udp-floor-server.mjs PORT');
  process.exit(2);
}
const connectAnswer = Buffer.alloc(16);
const announceAnswer = Buffer.alloc(20 + 19 * 6);
announceAnswer.writeUInt32BE(1, 0);
announceAnswer.writeUInt32BE(1800, 8);
announceAnswer.writeUInt32BE(15, 12);
announceAnswer.writeUInt32BE(5, 16);
connectAnswer.writeBigUInt64BE(0x0123456789abcdefn, 8);

const socket = dgram.createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  if (msg.length < 16) return;
  const action = msg.readUInt32BE(8);
  const template = action === 0 ? connectAnswer : action === 1 ? announceAnswer : undefined;
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
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
socket.bind(port, '127.0.0.1', () => console.log(`udp floor server on 127.0.0.1:${port}`));
