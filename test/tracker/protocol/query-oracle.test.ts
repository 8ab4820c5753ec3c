/**
 * The announce hot path's query decoding (src/tracker/query.ts parseRawQuery, walked by index)
 * against a plain reference written the obvious way (split on '&', then '=', decode each part):
 * the same parameters, values and errors for random queries made of the characters that matter.
 * And the one-pass announce scan (src/tracker/announce-scan.ts) against the general announce
 * parser it stands in for: the same request or the same error, for announces valid and not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRawQuery, QueryError, DEFAULT_LIMITS, TrackerRequestError, type TrackerLimits } from '../../../src/tracker/protocol/query.ts';
import { parseAnnounce, parseAnnounceGeneral } from '../../../src/tracker/protocol/announce.ts';
import { scanAnnounce } from '../../../src/tracker/protocol/announce-scan.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

function referenceDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new QueryError('invalid percent-encoding in the query');
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      if (c > 0xff) throw new QueryError('non-ASCII character in the query');
      out.push(c);
    }
  }
  return Buffer.from(out);
}

function reference(raw: string, maxParams: number): Map<string, Buffer[]> {
  const params = new Map<string, Buffer[]>();
  let count = 0;
  for (const part of raw.split('&')) {
    if (!part) continue;
    if (++count > maxParams) throw new QueryError(`more than ${maxParams} query parameters`);
    const eq = part.indexOf('=');
    const name = referenceDecode(eq < 0 ? part : part.slice(0, eq)).toString('latin1');
    const value = eq < 0 ? Buffer.alloc(0) : referenceDecode(part.slice(eq + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

const piece = fc.constantFrom('&', '=', '%', '%4', '%41', '%zz', '%e9', 'a', 'info_hash', 'B', '0', 'f', '+', ' ', '\u00e9', '\u0100', '\u20ac');
const query = fc.array(piece, { maxLength: 40 }).map((a) => a.join(''));

function outcome(f: () => Map<string, Buffer[]>): unknown {
  try {
    return [...f()].map(([k, v]) => [k, v.map((b) => b.toString('hex'))]);
  } catch (e) {
    assert.ok(e instanceof QueryError, `only QueryError is thrown, got ${String(e)}`);
    return `error: ${e.message}`;
  }
}

test('parseRawQuery equals the plain reference (parameters, values, errors)', () => {
  fc.assert(
    fc.property(query, fc.integer({ min: 1, max: 8 }), (raw, max) => {
      assert.deepEqual(outcome(() => parseRawQuery(raw, max)), outcome(() => reference(raw, max)));
    }),
    { seed: SEED, numRuns: 20_000 },
  );
});

// ---- announces: the one-pass scan against the general parser ----

const escaped = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
const twenty = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((a) => Buffer.from(a));
/** A 20-byte id as clients write it: unreserved bytes literal, the rest escaped (either case). */
const idValue = fc.oneof(
  { weight: 3, arbitrary: twenty.map((b) => [...b].map((x) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(x)) ? String.fromCharCode(x) : '%' + x.toString(16).padStart(2, '0'))).join('')) },
  { weight: 3, arbitrary: twenty.map(escaped) },
  { weight: 3, arbitrary: twenty.map((b) => escaped(b).toUpperCase()) },
  fc.constantFrom('', 'short', '%zz' + 'a'.repeat(19), 'a'.repeat(21), 'a'.repeat(19) + '%4', 'a'.repeat(19) + '\u0100'),
);
const number = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 2 ** 40 }).map(String) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 65535 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('', '0', '00', '65535', '65536', '-1', '1e3', ' 1', '%31', '9007199254740992', '12345678901234567', '1.5', '+1') },
);
const flagValue = fc.constantFrom('', '0', '1', '%31', 'true', '11');
const eventValue = fc.constantFrom('', 'started', 'stopped', 'completed', 'paused', 'empty', 'st%61rted', 'STARTED', 'constructor', 'start');
const param = fc.oneof(
  { weight: 4, arbitrary: idValue.map((v) => `info_hash=${v}`) },
  { weight: 4, arbitrary: idValue.map((v) => `peer_id=${v}`) },
  { weight: 3, arbitrary: number.map((v) => `port=${v}`) },
  { weight: 3, arbitrary: number.map((v) => `left=${v}`) },
  { weight: 2, arbitrary: number.map((v) => `uploaded=${v}`) },
  { weight: 2, arbitrary: number.map((v) => `downloaded=${v}`) },
  { weight: 2, arbitrary: number.map((v) => `numwant=${v}`) },
  { weight: 2, arbitrary: eventValue.map((v) => `event=${v}`) },
  { weight: 2, arbitrary: flagValue.map((v) => `compact=${v}`) },
  { weight: 1, arbitrary: flagValue.map((v) => `no_peer_id=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('ip=10.0.0.1', 'ip=::1', 'ip=bogus') },
  { weight: 1, arbitrary: fc.constantFrom('', 'key=abc', 'supportcrypto=1', 'k%65y=1', 'info%5fhash=' + 'a'.repeat(20), 'x=%zz', 'x=%4', 'x', '=', 'p\u0100=1', 'port', 'left', 'compact') },
);
const optional = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('uploaded', 'downloaded', 'numwant').chain((k) => fc.nat({ max: 2 ** 40 }).map((v) => `${k}=${v}`)) },
  { weight: 2, arbitrary: fc.constantFrom('started', 'stopped', 'completed', 'paused', 'empty', '').map((v) => `event=${v}`) },
  { weight: 3, arbitrary: fc.constantFrom('compact=1', 'compact=0', 'no_peer_id=1', 'key=1a2b', 'supportcrypto=1', 'corrupt=0', '') },
  { weight: 2, arbitrary: param },
);
const portValue = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 65535 }).map(String) }, { weight: 1, arbitrary: number });

/** Mostly complete announces (the five required fields first, shuffled), sometimes anything. */
const announceQuery = fc.oneof(
  fc
    .tuple(idValue, idValue, portValue, number, fc.array(optional, { maxLength: 6 }), fc.boolean())
    .chain(([h, id, port, left, extra, shuffle]) => {
      const parts = [`info_hash=${h}`, `peer_id=${id}`, `port=${port}`, `left=${left}`, ...extra];
      return shuffle ? fc.shuffledSubarray(parts, { minLength: parts.length, maxLength: parts.length }) : fc.constant(parts);
    })
    .map((parts) => parts.join('&')),
  fc.array(param, { maxLength: 12 }).map((parts) => parts.join('&')),
);
const addresses = fc.constantFrom('127.0.0.1', '127.0.0.1', '::ffff:10.1.2.3', '2001:db8::1', undefined, 'not-an-ip');

function announceOutcome(f: () => unknown): unknown {
  try {
    const r = f() as Record<string, unknown>;
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v]));
  } catch (e) {
    assert.ok(e instanceof TrackerRequestError, `only TrackerRequestError is thrown, got ${String(e)}`);
    return `error: ${e.message}`;
  }
}

test('the one-pass announce scan equals the general announce parser (request or error)', () => {
  let scanned = 0;
  let runs = 0;
  const limits: TrackerLimits[] = [DEFAULT_LIMITS, { ...DEFAULT_LIMITS, maxParams: 5, maxAnnounceQuery: 200, defaultNumwant: 30, maxNumwant: 40 }];
  fc.assert(
    fc.property(announceQuery, addresses, fc.constantFrom(0, 1), fc.constantFrom(false, false, false, true), (raw, address, l, trustIp) => {
      const lim = limits[l]!;
      runs++;
      if (scanAnnounce(raw, lim.maxAnnounceQuery, lim.maxParams, lim.defaultNumwant, lim.maxNumwant, trustIp)) scanned++;
      assert.deepEqual(
        announceOutcome(() => parseAnnounce(raw, address, lim, { trustIpParam: trustIp })),
        announceOutcome(() => parseAnnounceGeneral(raw, address, lim, { trustIpParam: trustIp })),
      );
    }),
    { seed: SEED, numRuns: 20_000 },
  );
  // The scan must carry the common case, not bail out on everything.
  assert.ok(scanned > runs / 25, `the scan answered ${scanned} of ${runs} announces`);
});

test('a typical client announce is taken by the one-pass scan', () => {
  const q =
    'info_hash=%12%34Vx%9A%BC%DE%F0%12%34Vx%9A%BC%DE%F0%12%34Vx&peer_id=-TR3000-abcdefghijkl&port=51413' +
    '&uploaded=0&downloaded=0&left=734003200&numwant=80&key=1a2b3c&compact=1&supportcrypto=1&event=started';
  const s = scanAnnounce(q, 4096, 64, 50, 200, false);
  assert.ok(s, 'scanAnnounce accepts a Transmission announce');
  assert.equal(s.infoHash.toString('hex'), '1234' + Buffer.from('Vx').toString('hex') + '9abcdef01234' + Buffer.from('Vx').toString('hex') + '9abcdef01234' + Buffer.from('Vx').toString('hex'));
  assert.equal(s.peerId.toString('latin1'), '-TR3000-abcdefghijkl');
  assert.deepEqual([s.port, s.uploaded, s.downloaded, s.left, s.numwant, s.event, s.compact, s.noPeerId], [51413, 0, 0, 734003200, 80, 'started', true, false]);
  assert.deepEqual(parseAnnounce(q, '127.0.0.1'), parseAnnounceGeneral(q, '127.0.0.1'));
});
