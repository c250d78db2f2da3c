// Threadables under mocha in an ES module test file named *.spec.mjs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deferToThread, threadable } from 'reactor-threads';

const sha1 = threadable(function sha1(s) { return createHash('sha1').update(s).digest('hex').slice(0, 4); });

describe('threadables in an ES module test file', () => {
  it('a threadable defined in the test file uses the test file\'s imports in a thread', async () => {
    assert.equal(await deferToThread(sha1, 'abc'), 'a999');
  });
});
