// Threadables under jest with babel (ES module syntax, run as CommonJS):
// defined in the test file itself (the thread never imports a test file:
// they travel as source, their imports bound again from babel-jest's
// transform of this file), in a module (which the thread imports), and
// plain functions.
import { createHash } from 'node:crypto';
import { deferToThread, threadable } from 'reactor-threads';
import { shout } from './tasks.cjs';

const double = threadable(function double(x) { return x * 2; });
const sha1 = threadable(function sha1(s) { return shout(createHash('sha1').update(s).digest('hex').slice(0, 4)); });

test('a self-contained threadable defined in the test file runs in a thread', async () => {
  expect(await deferToThread(double, 21)).toBe(42);
});

test('a threadable of a module runs in a thread', async () => {
  expect(await deferToThread(shout, 'hi')).toBe('HI!');
});

test('a threadable defined in the test file uses the test file\'s imports in a thread', async () => {
  expect(await deferToThread(sha1, 'abc')).toBe('A999!');
});

test('a plain function runs in a thread', async () => {
  expect(await deferToThread((a, b) => a + b, 2, 3)).toBe(5);
});
