import test from 'node:test';
import assert from 'node:assert/strict';
import { clientName, printableId, printableText } from '../../src/bittorrent/client-name.ts';

const id = (s: string) => Buffer.from(s.padEnd(20, 'x'), 'latin1');

test('Azureus-style peer_ids name their client and version', () => {
  assert.equal(clientName(id('-qB4520-')), 'qBittorrent 4.5.2');
  assert.equal(clientName(id('-TR3000-')), 'Transmission 3.0.0');
  assert.equal(clientName(id('-LT2080-')), 'libtorrent 2.0.8');
  assert.equal(clientName(id('-NB0001-')), 'p2p-bittorrent 0.0.0.1');
  assert.equal(clientName(id('-A2-1-3-')), 'unknown');
  assert.equal(clientName(id('-ZZ1234-')), 'unknown client ZZ 1.2.3.4');
});

test('Mainline-style and unknown peer_ids', () => {
  assert.equal(clientName(id('M7-2-2--')), 'BitTorrent (Mainline) 7.2.2');
  assert.equal(clientName(id('<img src=x onerror=a')), 'unknown');
  assert.equal(clientName(Buffer.alloc(20)), 'unknown');
  assert.equal(clientName(Buffer.alloc(3)), 'unknown');
});

test('printableId keeps printable ASCII only: every one of the 256 byte values', () => {
  assert.equal(printableId(Buffer.from([0x2d, 0x41, 0x00, 0xff, 0x3c])), '-A··<');
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const shown = [...printableId(all)];
  assert.equal(shown.length, 256);
  for (const [byte, ch] of shown.entries()) {
    assert.equal(ch, byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '·', `byte 0x${byte.toString(16)}`);
  }
});

test('printableText hides control and format characters, keeps the rest of the text', () => {
  // C0 (NUL, newline, the escape of a terminal sequence), DEL, C1 (NEL, CSI).
  assert.equal(printableText('a\u0000b\nc\u001b[31md\u007fe\u0085f\u009bg'), 'a·b·c·[31md·e·f·g');
  // Format characters: a right-to-left override would reorder the line, a zero-width space hide in it.
  assert.equal(printableText('\u202eexe.txt\u200b'), '·exe.txt·');
  assert.equal(printableText('µTorrent 3.6.0'), 'µTorrent 3.6.0');
  assert.equal(printableText('Tixati – 日本語 🙂'), 'Tixati – 日本語 🙂');
  for (let c = 0xa0; c <= 0xff; c++) {
    const ch = String.fromCharCode(c);
    assert.equal(printableText(ch), c === 0xad ? '·' : ch, `U+00${c.toString(16)}`); // 0xad: the soft hyphen, invisible
  }
});

test('aria2 names itself A2-major-minor-patch-', () => {
  assert.equal(clientName(Buffer.from('A2-1-36-0-abcdefghij')), 'aria2 1.36.0');
});
