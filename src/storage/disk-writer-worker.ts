/**
 * The DiskWriter's thread (disk-writer.ts): each request is written with synchronous 16 KiB
 * writes, in the order received, and answered with its id (and the error, if any).
 */
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { WriteReply, WriteRequest } from './disk-writer.ts';

/** A write this size gets a small page-cache folio (the reason for this thread; see disk-writer.ts). */
const SLICE = 16 * 1024;

parentPort!.on('message', (m: WriteRequest) => {
  let reply: WriteReply;
  try {
    const view = new Uint8Array(m.buffer, m.byteOffset, m.length);
    for (let done = 0; done < m.length; ) {
      const n = writeSync(m.fd, view, done, Math.min(SLICE, m.length - done), m.position + done);
      if (n <= 0) throw new Error(`write of ${m.length - done} bytes at ${m.position + done} wrote nothing`);
      done += n;
    }
    reply = { id: m.id };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    reply = { id: m.id, error: { message: err.message, code: err.code } };
  }
  parentPort!.postMessage(reply);
});
