// Threadables under node:test: defined in the test file itself (the thread
// never imports a test file: they travel as source), in a module (which
// the thread imports), and plain functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deferToThread, threadable } from 'reactor-threads';
import { shout } from './tasks.mjs';

const double = threadable(function double(x) { return x * 2; });
// Its imports are bound again in the thread.
const sha1 = threadable(function sha1(s) { return shout(createHash('sha1').update(s).digest('hex').slice(0, 4)); });

test('a self-contained threadable defined in the test file runs in a thread', async () => {
  assert.equal(await deferToThread(double, 21), 42);
});

test('a threadable of a module runs in a thread', async () => {
  assert.equal(await deferToThread(shout, 'hi'), 'HI!');
});

test('a threadable defined in the test file uses the test file\'s imports in a thread', async () => {
  assert.equal(await deferToThread(sha1, 'abc'), 'A999!');
});

test('a plain function runs in a thread', async () => {
  assert.equal(await deferToThread((a, b) => a + b, 2, 3), 5);
});
