import { test } from 'node:test';
import assert from 'node:assert/strict';
import type os from 'node:os';
import { isWildcard, publicAddress, reachableAddresses } from '../../src/net/reachable-addresses.ts';

type Info = os.NetworkInterfaceInfo;
const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null }) as unknown as Info;
const machine = {
  lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
  eth0: [nic('fe80::1', 'IPv6'), nic('2001:db8::7', 'IPv6'), nic('192.168.1.20', 'IPv4')],
};

test('a wildcard bind is reached at the non-loopback addresses, IPv4 first', () => {
  assert.deepEqual(reachableAddresses('0.0.0.0', machine), ['192.168.1.20']);
  assert.deepEqual(reachableAddresses('::', machine), ['192.168.1.20', '2001:db8::7'], 'link-local left out');
  assert.equal(publicAddress('0.0.0.0', machine), '192.168.1.20');
});

test('a named address is itself; a machine with no network falls back to 127.0.0.1', () => {
  assert.deepEqual(reachableAddresses('10.0.0.5', machine), ['10.0.0.5']);
  assert.deepEqual(reachableAddresses('0.0.0.0', { lo: machine.lo }), ['127.0.0.1']);
  assert.equal(isWildcard('::'), true);
  assert.equal(isWildcard('127.0.0.1'), false);
});
