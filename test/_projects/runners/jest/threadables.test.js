// Threadables under jest: defined in the test file itself (the thread
// never imports a test file: they travel as source), in a module (which
// the thread imports), and plain functions.
const { deferToThread, threadable } = require('reactor-threads');
const { shout } = require('./tasks.cjs');

const double = threadable(function double(x) { return x * 2; });

test('a self-contained threadable defined in the test file runs in a thread', async () => {
  expect(await deferToThread(double, 21)).toBe(42);
});

test('a threadable of a module runs in a thread', async () => {
  expect(await deferToThread(shout, 'hi')).toBe('HI!');
});

test('a plain function runs in a thread', async () => {
  expect(await deferToThread((a, b) => a + b, 2, 3)).toBe(5);
});
