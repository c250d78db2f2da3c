// Threadables under vitest: defined in the test file itself (the thread
// never imports a test file: they travel as source), in a TypeScript
// module (which the thread imports), and plain functions.
import { expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { deferToThread, threadable } from 'reactor-threads';
import { shout } from './tasks.ts';

const double = threadable(function double(x: number): number { return x * 2; });
// Its imports are bound again in the thread (from vite's transform of this file).
const sha1 = threadable(function sha1(s: string): string { return shout(createHash('sha1').update(s).digest('hex').slice(0, 4)); });

test('a self-contained threadable defined in the test file runs in a thread', async () => {
  expect(await deferToThread(double, 21)).toBe(42);
});

test('a threadable of a TypeScript module runs in a thread', async () => {
  expect(await deferToThread(shout, 'hi')).toBe('HI!');
});

test('a threadable defined in the test file uses the test file\'s imports in a thread', async () => {
  expect(await deferToThread(sha1, 'abc')).toBe('A999!');
});

test('a plain function runs in a thread', async () => {
  expect(await deferToThread((a: number, b: number) => a + b, 2, 3)).toBe(5);
});
