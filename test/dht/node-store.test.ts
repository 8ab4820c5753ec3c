import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile, readFile } from 'node:fs/promises';
import { formatState, loadState, parseState, saveState, MAX_SAVED_NODES } from '../../src/dht/node-store.ts';
import { tempDir } from '../../harness/procs.ts';

const id = (n: number) => Buffer.alloc(20, n);

test('a saved table reads back the same', async (t) => {
  const { dir, remove } = await tempDir('dht-store');
  t.after(remove);
  const file = path.join(dir, '.dht-nodes.json');
  const state = { id: id(1), nodes: [{ id: id(2), host: '127.0.0.1', port: 6881 }, { id: id(3), host: '10.1.2.3', port: 1 }] };
  await saveState(file, state);
  assert.deepEqual(await loadState(file), state);
});

test('bad entries are left out, a bad or missing file gives an empty table, and at most MAX_SAVED_NODES are kept', async (t) => {
  const good = { id: id(2).toString('hex'), host: '1.2.3.4', port: 5 };
  const text = JSON.stringify({
    id: 'zz',
    nodes: [good, { ...good, host: '::1' }, { ...good, port: 0 }, { ...good, port: 70000 }, { ...good, id: 'ab' }, null, 5, { ...good, host: 'a.b' }],
  });
  const s = parseState(text);
  assert.equal(s.id, undefined);
  assert.deepEqual(s.nodes, [{ id: id(2), host: '1.2.3.4', port: 5 }]);
  assert.deepEqual(parseState('{not json'), { id: undefined, nodes: [] });
  assert.deepEqual(parseState('null'), { id: undefined, nodes: [] });
  assert.deepEqual(await loadState('/nonexistent/.dht-nodes.json'), { id: undefined, nodes: [] });
  const many = { id: id(1), nodes: Array.from({ length: 1000 }, (_, i) => ({ id: id(i & 255), host: '1.2.3.4', port: i + 1 })) };
  assert.equal(parseState(formatState(many)).nodes.length, MAX_SAVED_NODES);
  const { dir, remove } = await tempDir('dht-store');
  t.after(remove);
  const huge = path.join(dir, 'huge.json');
  await writeFile(huge, JSON.stringify({ nodes: Array.from({ length: 5000 }, () => good) }));
  assert.deepEqual(await loadState(huge), { id: undefined, nodes: [] }, 'a file over 64 KiB is not read');
  assert.ok((await readFile(huge)).length > 64 * 1024, 'the state file written is over 64 KiB');
});
