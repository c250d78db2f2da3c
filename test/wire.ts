// The value codec: the fast path for primitives and the v8 path agree on
// what arrives, including the edge values of each type.
import test from 'ava';
import { deferToThread } from 'reactor-threads';

const identity = <T>(x: T): T => x;

test('primitive arguments and results round-trip exactly', async (t) => {
  const values = [0, -0, 1.5, -1e308, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity,
    true, false, null, undefined, '', 'plain', 'ünïcødé ✓ 𝄞', 'x'.repeat(1024)];
  for (const v of values) t.is(await deferToThread(identity, v), v, `value ${String(v)}`);
  t.deepEqual(await deferToThread((...a: unknown[]) => a, ...values), values);
});

test('values beyond the fast path still cross: long strings, objects, bigints', async (t) => {
  const long = 'y'.repeat(5000);
  t.is(await deferToThread(identity, long), long);
  t.deepEqual(await deferToThread(identity, { a: [1, { b: 'c' }] }), { a: [1, { b: 'c' }] });
  t.is(await deferToThread(identity, 10n ** 30n), 10n ** 30n);
  const mixed = [1, 'two', { three: 3 }];
  t.deepEqual(await deferToThread((...a: unknown[]) => a, ...mixed), mixed);
});

test('many arguments beyond the fast path limit arrive in order', async (t) => {
  const many = Array.from({ length: 300 }, (_, i) => i);
  t.deepEqual(await deferToThread((...a: number[]) => a, ...many), many);
});

test('strings with lone surrogates cross unchanged, as arguments and as results', async (t) => {
  const lone = ['\ud800', 'a\udc00b', '\udfff\ud800', `${'x'.repeat(10)}\ud83d`];
  // Each direction on its own: the code units the thread received, and a
  // result made in the thread.
  for (const s of lone) {
    t.deepEqual(await deferToThread((v: string) => Array.from(v, (c) => c.charCodeAt(0)), s),
      Array.from(s, (c) => c.charCodeAt(0)), `argument ${JSON.stringify(s)}`);
  }
  t.is(await deferToThread(() => String.fromCharCode(0xd800)), '\ud800', 'result');
  for (const s of lone) t.is(await deferToThread(identity, s), s, `round trip ${JSON.stringify(s)}`);
  t.deepEqual(await deferToThread((...a: string[]) => a, ...lone), lone);
  t.is(await deferToThread(identity, '\ud83d\ude00'), '\ud83d\ude00', 'a well-formed pair is still one character');
});
