/**
 * The network fuzz suites' harness (test/fuzz/tracker-http.fuzz.test.ts, peer-node.fuzz.test.ts):
 * seeded case lists run a few at a time over real loopback sockets, raw HTTP requests written byte
 * by byte and their replies parsed by hand, and a count of what the servers log.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { SEED, runs, b as latin1 } from './fuzz.ts';

/** `n` cases drawn from `arb` with this run's seed (offset per use so the lists differ). */
export function cases<T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] {
  return fc.sample(arb, { seed: SEED + salt, numRuns: runs(n) });
}

/** Run `f` over `items`, `width` at a time; collect every failure with its case. */
export async function pool<T>(items: T[], width: number, f: (x: T, i: number) => Promise<void>): Promise<Array<{ i: number; item: T; error: Error }>> {
  const failures: Array<{ i: number; item: T; error: Error }> = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      try {
        await f(items[i]!, i);
      } catch (e) {
        failures.push({ i, item: items[i]!, error: e as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return failures;
}

export function report<T>(what: string, failures: Array<{ i: number; item: T; error: Error }>, show: (x: T) => string): void {
  if (failures.length === 0) return;
  const first = failures
    .slice(0, 5)
    .map((f) => `#${f.i}: ${show(f.item)}\n    -> ${f.error.message.split('\n').slice(0, 6).join('\n       ')}`)
    .join('\n');
  assert.fail(`${what}: ${failures.length} failing case(s). Replay with FUZZ_SEED=${SEED}\n${first}`);
}

export interface RawReply {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

export type RawOutcome = { kind: 'reply'; reply: RawReply } | { kind: 'closed'; bytes: number } | { kind: 'timeout' };

/** Parse one HTTP/1.x response (Content-Length or chunked, or up to the close). */
export function parseResponse(raw: Buffer, head: boolean): RawReply | null {
  // Skip interim 1xx answers (100 Continue to `Expect: 100-continue`).
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 13).toString('latin1'))) {
    const e = raw.indexOf('\r\n\r\n');
    if (e < 0) return null;
    raw = raw.subarray(e + 4);
  }
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (head) body = Buffer.alloc(0);
  else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf('\r\n', at);
      if (nl < 0) break;
      const n = parseInt(body.subarray(at, nl).toString('latin1'), 16);
      if (!(n > 0)) break;
      parts.push(body.subarray(nl + 2, nl + 2 + n));
      at = nl + 2 + n + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers.has('content-length')) body = body.subarray(0, Number(headers.get('content-length')));
  return { status: Number(m[1]), headers, body };
}

/** Write `request` on a fresh connection and read until the server closes it (or `timeoutMs`). */
export function rawHttp(port: number, request: Buffer, opts: { localAddress?: string; timeoutMs?: number; head?: boolean } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (o: RawOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const settle = () => {
      const raw = Buffer.concat(chunks);
      const reply = parseResponse(raw, opts.head ?? false);
      finish(reply ? { kind: 'reply', reply } : { kind: 'closed', bytes: raw.length });
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), opts.timeoutMs ?? 10_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', settle);
    sock.on('close', settle);
    sock.on('error', settle);
    sock.on('connect', () => sock.write(request));
  });
}

export interface HttpCase {
  method: string;
  target: string; // latin1: raw bytes of the request target
  version: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  localAddress?: string;
  /** A well-formed GET to the lean routes: must be answered 200. */
  clean: boolean;
}

export function serialise(c: HttpCase): Buffer {
  let head = `${c.method} ${c.target} ${c.version}\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of c.headers) head += `${k}: ${v}\r\n`;
  if (c.body) head += `Content-Length: ${c.body.length}\r\n`;
  head += 'Connection: close\r\n\r\n';
  return Buffer.concat([latin1(head), c.body ?? Buffer.alloc(0)]);
}

export const showCase = (c: HttpCase) => {
  const t = c.target.length > 160 ? `${c.target.slice(0, 160)}... (${c.target.length} chars)` : c.target;
  const h = c.headers.map(([k, v]) => `${k}: ${v.length > 60 ? v.slice(0, 60) + '...' : v}`).join(' | ');
  return JSON.stringify(`${c.method} ${t} ${c.version}`) + (h ? ` [${h}]` : '') + (c.localAddress ? ` from ${c.localAddress}` : '');
};

/** Count console.error calls (the servers log every 5xx cause there) while `f` runs. */
export async function countingErrors<T>(f: () => Promise<T>): Promise<{ value: T; logged: string[] }> {
  const logged: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' '));
  };
  try {
    return { value: await f(), logged };
  } finally {
    console.error = orig;
  }
}
