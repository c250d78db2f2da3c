// transfer(): ArrayBuffers and views moved instead of copied, both ways.
import test from 'ava';
import { deferToThread, deferToThreadPool, QueueFullError, reactor, ThreadPool, transfer } from 'reactor-threads';
import { add, makeBytes } from './_fixtures/tasks.cjs';
import { callWithOwnFunction, moveAfterStop } from './_fixtures/bridge-tasks.cjs';

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

test('a call refused by a full queue leaves its transferred buffer with the caller', async (t) => {
  // Not started: queued work waits, so the queue stays full.
  const pool = new ThreadPool({ maxThreads: 1, maxQueue: 1 });
  t.teardown(() => pool.stop());
  const first = deferToThreadPool(reactor, pool, add, 1, 1);
  first.catch(() => undefined);  // awaited below; rejected by the teardown's stop() if an assertion fails first
  const ab = new ArrayBuffer(1024);
  new Uint8Array(ab).fill(7);
  await t.throwsAsync(deferToThreadPool(reactor, pool, (b: ArrayBuffer) => b.byteLength, transfer(ab)),
    { instanceOf: QueueFullError });
  t.is(ab.byteLength, 1024);
  t.true(new Uint8Array(ab).every((x) => x === 7), 'contents intact');
  const view = transfer(new Float64Array([1.5, 2.5]));
  await t.throwsAsync(deferToThreadPool.with({ affinity: 'k' })(reactor, pool, (f: Float64Array) => f.length, view),
    { instanceOf: QueueFullError });
  t.deepEqual(Array.from(view), [1.5, 2.5]);
  pool.start();
  t.is(await first, 2);
  await pool.stop();
});

test('a blocking call refused before it is sent leaves its transferred buffer with the caller', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  t.teardown(() => pool.stop());
  pool.start();
  let stopped: Promise<void> | undefined;
  const bytes = new Uint8Array(4096).fill(3);
  const got = await deferToThreadPool(reactor, pool, moveAfterStop, () => { stopped = pool.stop(); }, bytes.buffer);
  t.deepEqual(got, { error: 'PoolStoppedError', byteLength: 4096, sum: 3 * 4096 });
  await stopped;
});

test('a blocking call refused as a deadlock leaves its transferred buffer with the caller', async (t) => {
  // The thread waits on this reactor, which calls the thread back: the
  // native wait graph refuses that call before it is sent.
  const ab = new ArrayBuffer(256);
  new Uint8Array(ab).fill(5);
  const got = await deferToThread(callWithOwnFunction, (g: (b: ArrayBuffer) => number) => {
    try {
      g(transfer(ab));
      return 'no error';
    } catch (e) {
      return (e as Error).name;
    }
  });
  t.is(got, 'WouldDeadlockError');
  t.is(ab.byteLength, 256);
  t.true(new Uint8Array(ab).every((x) => x === 5), 'contents intact');
});
