// Threadables under jest: defined in the test file itself (the thread
// never imports a test file: they travel as source), in a module (which
// the thread imports), and plain functions.
const { createHash } = require('node:crypto');
const { deferToThread, threadable } = require('reactor-threads');
const { shout } = require('./tasks.cjs');

const double = threadable(function double(x) { return x * 2; });
// Its require() bindings are made again in the thread.
const sha1 = threadable(function sha1(s) { return shout(createHash('sha1').update(s).digest('hex').slice(0, 4)); });

test('a self-contained threadable defined in the test file runs in a thread', async () => {
  expect(await deferToThread(double, 21)).toBe(42);
});

test('a threadable of a module runs in a thread', async () => {
  expect(await deferToThread(shout, 'hi')).toBe('HI!');
});

test('a threadable defined in the test file uses the test file\'s requires in a thread', async () => {
  expect(await deferToThread(sha1, 'abc')).toBe('A999!');
});

test('a plain function runs in a thread', async () => {
  expect(await deferToThread((a, b) => a + b, 2, 3)).toBe(5);
});
