// Threadables under ts-jest: defined in the TypeScript test file itself
// (the thread never imports a test file: they travel as source, with the
// file's imports bound again there), in a TypeScript module (which the
// thread imports), and plain functions.
import { createHash } from 'node:crypto';
import { deferToThread, reactor, threadable } from 'reactor-threads';
import { shout } from './tasks';

declare const afterAll: (f: () => unknown) => void;
declare const test: (name: string, f: () => Promise<void>) => void;
declare const expect: (v: unknown) => { toBe(w: unknown): void };

const double = threadable(function double(x: number): number { return x * 2; });
const sha1 = threadable(function sha1(s: string): string {
  return shout(createHash('sha1').update(s).digest('hex').slice(0, 4));
});

afterAll(() => reactor.getThreadPool().stop());

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
