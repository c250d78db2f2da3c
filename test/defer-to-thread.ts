// deferToThread: the four outcomes of a cross-thread call, and where it
// runs. (That 1,000 concurrent tasks each settle exactly once is counted
// in test/threadpool-callbacks.ts, through onResult: a Promise would hide
// a second settle.)
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { threadId } from 'node:worker_threads';
import { deferToThread, deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add, addLater, fail, failLater, meet, nestedAdd, whereAmI } from './_fixtures/tasks.cjs';

test('deferToThread resolves with the value f returns', async (t) => {
  t.is(await deferToThread(add, 2, 3), 5);
});

test('deferToThread resolves with the value an async f resolves to', async (t) => {
  t.is(await deferToThread(addLater, 20, 22), 42);
});

test('deferToThread rejects with the error f throws, class kept', async (t) => {
  const err = await t.throwsAsync(deferToThread(fail, 'no good'), { instanceOf: TypeError });
  t.is(err?.message, 'no good');
  t.regex(err?.stack ?? '', /fail/);
});

test('deferToThread rejects with the error an async f rejects with', async (t) => {
  await t.throwsAsync(deferToThread(failLater, 'later'), { instanceOf: RangeError, message: 'later' });
});

test('a failure right after a success reports each on its own', async (t) => {
  const ok = deferToThread(add, 1, 1);
  const bad = deferToThread(fail, 'second');
  t.is(await ok, 2);
  await t.throwsAsync(bad, { instanceOf: TypeError, message: 'second' });
});

test('f runs on another thread, outside the IO thread', async (t) => {
  const where = await deferToThread(whereAmI);
  t.not(where.threadId, threadId);
  t.false(where.io);
});

test('a plain self-contained function runs from its source', async (t) => {
  t.is(await deferToThread((a: number, b: number) => a * b, 6, 7), 42);
  t.is(await deferToThread(function fact(n: number): number { return n <= 1 ? 1 : n * fact(n - 1); }, 5), 120);
});

test('tasks run on both threads of a two-thread pool', async (t) => {
  // Each task waits (through a reactor callable) until both have arrived:
  // the first one's thread is parked meanwhile, so the second one can only
  // run on the other thread, however the machine schedules them.
  const pool = new ThreadPool({ maxThreads: 2 });
  pool.start();
  let arrived = 0;
  let release!: () => void;
  const bothHere = new Promise<void>((r) => { release = r; });
  const arrive = (): Promise<void> => { if (++arrived === 2) release(); return bothHere; };
  const ids = await Promise.all([deferToThreadPool(reactor, pool, meet, arrive), deferToThreadPool(reactor, pool, meet, arrive)]);
  t.is(new Set(ids).size, 2);
  await pool.stop();
});

test('deferToThread works from inside a pool thread, on that thread\'s own pool', async (t) => {
  const r = await deferToThread(nestedAdd, 40, 2);
  t.is(r.sum, 42);
  t.not(r.inner, r.outer);
});

test('a plain function may import modules dynamically in the thread', async (t) => {
  const hash = async (s: string): Promise<string> => {
    const { createHash } = await import('node:crypto');
    return createHash('sha1').update(s).digest('hex');
  };
  t.is(await deferToThread(hash, 'abc'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
});

test.serial('a settled call\'s result is not kept alive by the library', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Each call sits alone on its own pool, so nothing after it overwrites
  // whatever the library might still hold of it.
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  let result: WeakRef<object> | undefined;
  await (async () => {
    const value = await deferToThreadPool(reactor, pool, (n: number) => ({ big: 'x'.repeat(n) }), 1_000_000);
    result = new WeakRef(value);
  })();
  for (let i = 0; i < 5 && result!.deref() !== undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
  }
  t.is(result!.deref(), undefined, 'the result is still reachable after its call settled');
  await pool.stop();
});
