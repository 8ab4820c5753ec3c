/** webSeedFileUrls alone (BEP 19 URL forms); the web seed end to end is in webseed.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webSeedFileUrls } from '../../../src/download/sources/webseed-source.ts';

const file = (path: string[], pad = false) => ({ path, pad, length: 1, offset: 0 });

test('single file: a URL ending in / gets the escaped name, any other URL is the file itself', () => {
  const meta = { name: 'a b%#é.bin', files: [file(['a b%#é.bin'])], multiFile: false };
  assert.deepEqual(webSeedFileUrls('http://s/files/', meta), ['http://s/files/a%20b%25%23%C3%A9.bin']);
  assert.deepEqual(webSeedFileUrls('http://s/exact/name.bin', meta), ['http://s/exact/name.bin']);
});

test('multi-file: name/path under the URL (a / added when missing), each element escaped, null for pad files', () => {
  const meta = { name: 'dir', files: [file(['x', 'y z.txt']), file(['.pad', '100'], true), file(['q?.bin'])], multiFile: true };
  const expected = ['http://s/d/dir/x/y%20z.txt', null, 'http://s/d/dir/q%3F.bin'];
  assert.deepEqual(webSeedFileUrls('http://s/d/', meta), expected);
  assert.deepEqual(webSeedFileUrls('http://s/d', meta), expected);
});
