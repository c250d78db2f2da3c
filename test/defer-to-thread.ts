// deferToThread: the four outcomes of a cross-thread call, where it runs,
// and that many concurrent calls each settle exactly once.
import test from 'ava';
import { threadId } from 'node:worker_threads';
import { deferToThread, reactor } from 'reactor-threads';
import { waitFor } from './_helpers/wait.js';
import { add, addLater, fail, failLater, nestedAdd, spin, whereAmI } from './_fixtures/tasks.cjs';

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

test('1,000 concurrent tasks on 2 threads all settle exactly once', async (t) => {
  reactor.suggestThreadPoolSize(2);
  const settled = new Map<number, number>();
  await Promise.all(Array.from({ length: 1000 }, (_, i) =>
    deferToThread(add, i, 0).then((v) => { settled.set(i, (settled.get(i) ?? 0) + 1); t.is(v, i); })));
  t.is(settled.size, 1000);
  t.true([...settled.values()].every((n) => n === 1));
  t.true(reactor.getThreadPool().workers <= 2);
});

test('tasks run on both threads of a two-thread pool', async (t) => {
  reactor.suggestThreadPoolSize(2);
  const pool = reactor.getThreadPool();
  pool.adjustPoolsize(2, 2);
  t.true(await waitFor(() => pool.idle + pool.busy === 2));  // both started
  const ids = await Promise.all(Array.from({ length: 8 }, () => deferToThread(spin, 30)));
  pool.adjustPoolsize(0, 2);
  t.is(new Set(ids).size, 2);
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
