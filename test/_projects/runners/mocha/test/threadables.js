// Threadables under mocha, in a test file named as mocha's default spec
// finds them (test/*.js), not as *.test.*: defined in the test file itself
// (the thread never imports a test file: they travel as source), in a
// module (which the thread imports), and plain functions.
const assert = require('node:assert/strict');
const { createHash } = require('node:crypto');
const { deferToThread, threadable } = require('reactor-threads');
const { shout } = require('../tasks.js');

const double = threadable(function double(x) { return x * 2; });
// Its imports are bound again in the thread.
const sha1 = threadable(function sha1(s) { return shout(createHash('sha1').update(s).digest('hex').slice(0, 4)); });

describe('threadables in a CommonJS test file', () => {
  it('a self-contained threadable defined in the test file runs in a thread', async () => {
    assert.equal(await deferToThread(double, 21), 42);
  });
  it('a threadable of a module runs in a thread', async () => {
    assert.equal(await deferToThread(shout, 'hi'), 'HI!');
  });
  it('a threadable defined in the test file uses the test file\'s imports in a thread', async () => {
    assert.equal(await deferToThread(sha1, 'abc'), 'A999!');
  });
  it('a plain function runs in a thread', async () => {
    assert.equal(await deferToThread((a, b) => a + b, 2, 3), 5);
  });
});
