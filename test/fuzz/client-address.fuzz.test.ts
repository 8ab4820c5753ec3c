/**
 * Property-based (fuzz) tests of the tracker's client-address logic: CIDRs and forwarded hops
 * (src/tracker/client-address.ts): hostile and random input gives a value or the one expected
 * error, never anything else, and never a hang. Seeds and case counts: test/support/fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { type Cidr, clientAddress, inCidr, parseCidr } from '../../src/tracker/client-address.ts';
import { check, timed } from '../support/fuzz.ts';

const hop = fc.oneof(
  { weight: 4, arbitrary: fc.ipV4() },
  { weight: 2, arbitrary: fc.ipV6() },
  { weight: 1, arbitrary: fc.ipV4().map((ip) => `::ffff:${ip}`) },
  { weight: 1, arbitrary: fc.constantFrom('127.0.0.1', '10.0.0.1', '10.1.2.3', '::1', 'fe80::1%eth0', 'unknown', '1.2.3.4:80', '[::1]', '', ' ', 'fe80::1%', '1.2.3.256', '01.2.3.4') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const cidrText = fc.oneof(
  fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: -1, max: 33 }))).map(([ip, n]) => (n === null ? ip : `${ip}/${n}`)),
  fc.tuple(fc.ipV6(), fc.option(fc.integer({ min: -1, max: 129 }))).map(([ip, n]) => (n === null ? ip : `${ip}/${n}`)),
  fc.constantFrom('10.0.0.0/8', '127.0.0.0/8', '::1/128', '::/0', '0.0.0.0/0', '::ffff:10.0.0.0/104', '1.2.3.4/', '/8', '1.2.3.4/8/9', '1.2.3.4/ 8', 'fe80::/10'),
  fc.string({ maxLength: 12 }),
);

/** Independent CIDR membership with Node's BlockList (IPv4-mapped IPv6 counted as IPv4). */
function blockListHas(cidrs: Cidr[], ip: string): boolean {
  let a = ip.replace(/%.*$/, '');
  if (a.toLowerCase().startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  const fam = net.isIP(a);
  if (fam === 0) return false;
  // One family per list: a BlockList matches IPv4 addresses against IPv6 rules as IPv4-mapped,
  // while a CIDR of one family never matches the other here.
  const list = new net.BlockList();
  for (const c of cidrs) {
    if (c.family !== fam) continue;
    const addr = c.family === 4 ? [...c.bytes].join('.') : Array.from({ length: 8 }, (_, i) => c.bytes.readUInt16BE(i * 2).toString(16)).join(':');
    list.addSubnet(addr, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  }
  return list.check(a, fam === 4 ? 'ipv4' : 'ipv6');
}

test('client address: parseCidr only throws Error; inCidr agrees with net.BlockList', (t) => {
  check(
    t,
    'cidrs',
    fc.property(cidrText, fc.array(hop, { maxLength: 4 }), (text, ips) => {
      let c: Cidr;
      try {
        c = timed('parseCidr', () => parseCidr(text));
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(e instanceof Error, 'an Error');
        return;
      }
      assert.ok(
        c.family === 4 ? c.bytes.length === 4 && c.prefix <= 32 : c.bytes.length === 16 && c.prefix <= 128,
        `an IPv${c.family} address has ${c.family === 4 ? 4 : 16} bytes and a prefix in range: ${c.bytes.length} bytes, /${c.prefix}`,
      );
      assert.ok(Number.isInteger(c.prefix) && c.prefix >= 0, `the prefix is a non-negative integer: ${c.prefix}`);
      for (const ip of ips) {
        const got = timed('inCidr', () => inCidr(ip, c));
        // Node's BlockList ignores zone ids like we do; compare only where both read an address.
        if (net.isIP(ip.replace(/%.*$/, '')) !== 0) assert.equal(got, blockListHas([c], ip), `inCidr(${ip}, ${text})`);
      }
    }),
    4000,
  );
});

test('client address: clientAddress never throws; the answer is the socket address or one of the hops', (t) => {
  const trusted = fc.array(cidrText, { maxLength: 3 }).map((ts) =>
    ts.flatMap((s) => {
      try {
        return [parseCidr(s)];
      } catch {
        return [];
      }
    }),
  );
  const header = fc.oneof(
    fc.tuple(fc.array(hop, { maxLength: 6 }), fc.constantFrom(',', ', ', ' ,')).map(([hs, sep]) => hs.join(sep)),
    fc.array(fc.array(hop, { maxLength: 3 }).map((hs) => hs.join(',')), { minLength: 1, maxLength: 3 }),
    fc.constant(undefined),
    fc.string({ maxLength: 20 }),
  );
  const socket = fc.oneof(fc.constantFrom('127.0.0.1', '10.0.0.1', '::1', '::ffff:10.0.0.1', undefined), hop);
  check(
    t,
    'client address',
    fc.property(socket, header, trusted, (s, h, tr) => {
      let got: string | undefined;
      try {
        got = timed('clientAddress', () => clientAddress(s, h, tr));
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.fail(`clientAddress threw ${(e as Error).stack}`);
      }
      const hops = (Array.isArray(h) ? h.join(',') : (h ?? '')).split(',').map((x) => x.trim());
      assert.ok(got === s || hops.includes(got!), `${got} is neither the socket address ${s} nor a hop of ${JSON.stringify(h)}`);
      if (s === undefined || tr.length === 0 || h === undefined || !blockListHas(tr, s)) {
        assert.equal(got, s, 'without a trusted proxy on the socket the header is ignored');
      }
      if (got !== s) {
        // Everything to the right of the chosen hop was a trusted proxy.
        const i = hops.lastIndexOf(got!);
        for (const right of hops.slice(i + 1).filter(Boolean)) assert.ok(blockListHas(tr, right), `${right}, right of the client ${got}, is a trusted proxy`);
      }
    }),
    5000,
  );
});
