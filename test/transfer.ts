// transfer(): ArrayBuffers and views moved instead of copied, both ways.
import test from 'ava';
import { deferToThread, transfer } from 'reactor-threads';
import { makeBytes } from './_fixtures/tasks.cjs';

test('a transferred ArrayBuffer argument arrives whole and is detached from the sender', async (t) => {
  const ab = new ArrayBuffer(1024);
  new Uint8Array(ab).fill(7);
  const sum = await deferToThread((b: ArrayBuffer) => new Uint8Array(b).reduce((a, x) => a + x, 0), transfer(ab));
  t.is(sum, 7 * 1024);
  t.is(ab.byteLength, 0);
});

test('a transferred typed array argument keeps its type and contents', async (t) => {
  const floats = new Float64Array([1.5, 2.5, 3.5]);
  const got = await deferToThread((f: Float64Array) => [f.constructor.name, Array.from(f)] as const, transfer(floats));
  t.deepEqual(got, ['Float64Array', [1.5, 2.5, 3.5]]);
  t.is(floats.length, 0);
});

test('a returned value marked with transfer arrives on the caller', async (t) => {
  const out = await deferToThread(makeBytes, 4096);
  t.is(out.length, 4096);
  t.is(out[4095], 9);
});

test('a Buffer that shares its slab is copied, not detached', async (t) => {
  const small = Buffer.from('hello');
  const got = await deferToThread((b: Uint8Array) => Buffer.from(b).toString(), transfer(small));
  t.is(got, 'hello');
  t.is(small.toString(), 'hello');
});

test('arguments that are not transferred are copied', async (t) => {
  const ab = new ArrayBuffer(8);
  await deferToThread((b: ArrayBuffer) => b.byteLength, ab);
  t.is(ab.byteLength, 8);
});
