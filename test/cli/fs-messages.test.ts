import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fsErrorMessage, stripErrno } from '../../src/cli/fs-messages.ts';

const errno = (code: string, message = `${code}: something, open 'x'`) => Object.assign(new Error(message), { code });

test('the errno codes a user meets are said in words, with the path', () => {
  assert.equal(fsErrorMessage(errno('ENOENT'), 'x.torrent'), 'No such file: x.torrent');
  assert.equal(fsErrorMessage(errno('EACCES'), 'x.torrent'), 'Permission denied: x.torrent');
  assert.equal(fsErrorMessage(errno('EISDIR'), 'photos'), 'photos is a folder, not a file');
  assert.equal(fsErrorMessage(errno('ENOSPC'), 'dl/big.bin.part'), 'Disk full at dl/big.bin.part');
  for (const code of ['ENOTDIR', 'EPERM', 'EDQUOT', 'EROFS', 'EMFILE', 'ENAMETOOLONG', 'ELOOP', 'EIO', 'EEXIST']) {
    const m = fsErrorMessage(errno(code), 'p');
    assert.doesNotMatch(m, /\bE[A-Z]{3,}\b/, `${code}: ${m}`);
    assert.match(m, /\bp\b/, `${code} names the path`);
  }
});

test('an unknown code keeps the words of the message, not the code or the syscall', () => {
  assert.equal(fsErrorMessage(errno('EWEIRD', "EWEIRD: the disk sneezed, read 'p'"), 'p'), 'p: the disk sneezed');
  assert.equal(stripErrno('plain words'), 'plain words');
});

test('a real failed read', async () => {
  const e = await readFile('/nonexistent/really.torrent').catch((x: unknown) => x);
  assert.equal(fsErrorMessage(e, 'really.torrent'), 'No such file: really.torrent');
});
