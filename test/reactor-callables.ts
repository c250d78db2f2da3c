// Reactor callables: functions passed to a thread stay on their reactor;
// the thread calls them through proxies, for as long as the task lives
// (or until released, when kept).
import test from 'ava';
import { AsyncLocalStorage } from 'node:async_hooks';
import { threadId } from 'node:worker_threads';
import { deferToThread, deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { callNested, callStashed, callTwice, keepCalling, notifyThrough, stashCallable } from './_fixtures/bridge-tasks.cjs';
import { CancelledError } from 'reactor-threads';
import { eventually } from './_helpers/wait.js';

test('a closure over reactor state is called from the thread, on the reactor', async (t) => {
  let counter = 0;
  const where: number[] = [];
  const bump = (n: number): number => { where.push(threadId); counter += n; return counter; };
  const last = await deferToThread((inc: (n: number) => number) => { inc(1); inc(2); return inc(3); }, bump);
  t.is(last, 6);
  t.is(counter, 6);
  t.deepEqual(where, [threadId, threadId, threadId]);
});

test('functions nested in arrays and plain objects become proxies too', async (t) => {
  const got = await deferToThread(callNested, { list: [(x: number) => x + 10], deep: { f: (x: number) => x * 100 } });
  t.deepEqual(got, [11, 200]);
});

test('a function passed twice in one call arrives as one proxy', async (t) => {
  const f = (): number => 1;
  t.deepEqual(await deferToThread((a: unknown, b: { again: unknown }) => [a === b.again, typeof a], f, { again: f }), [true, 'function']);
  t.deepEqual(await deferToThread((a: unknown, b: unknown) => a === b, f, () => 1), false, 'two functions stay two');
});

test('a proxy is released when its task settles', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });  // both tasks on one thread
  pool.start();
  t.is(await deferToThreadPool(reactor, pool, stashCallable, () => 7), 7);
  const later = await deferToThreadPool(reactor, pool, callStashed);
  t.is(later.name, 'CallableReleasedError');
  await pool.stop();
});

test('a proxy is released when its task is cancelled: the thread, still running it, is refused with CallableReleasedError', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, cancelGrace: 10_000 });
  pool.start();
  const refused = new Int32Array(new SharedArrayBuffer(4));
  let calls = 0;
  let callsAtCancel = -1;
  const controller = new AbortController();
  const task = deferToThreadPool.with({ signal: controller.signal })(reactor, pool, keepCalling, () => { calls++; }, 100, 10, refused);
  await eventually(() => calls >= 3, 'the task calls back');
  controller.abort();
  callsAtCancel = calls;
  await t.throwsAsync(task, { instanceOf: CancelledError });
  // (Before: the callable stayed until the thread was done with the task, and ran about 100 times more.)
  await eventually(() => Atomics.load(refused, 0) >= 2, 'the thread is refused');
  t.true(calls <= callsAtCancel + 1, `${calls - callsAtCancel} calls ran after the cancel`);
  await pool.stop();
});

test('a kept callable serves many tasks until it is released', async (t) => {
  let calls = 0;
  const shared = reactor.keepCallable(() => ++calls);
  t.is(await deferToThread(callTwice, shared), 3);
  t.is(await deferToThread(callTwice, shared), 7);
  t.true(reactor.releaseCallable(shared));
  t.false(reactor.releaseCallable(shared));
  t.is(calls, 4);
});

test('a callable runs in the async context of the code that handed it over', async (t) => {
  const als = new AsyncLocalStorage<string>();
  const seen = await als.run('handed-over', () =>
    deferToThread((get: () => string | undefined) => get(), () => als.getStore()));
  t.is(seen, 'handed-over');
});

test('callFromThread(proxy) is the non-blocking form', async (t) => {
  const got: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => { done = resolve; });
  await deferToThread(notifyThrough, (s: string) => { got.push(s); }, () => done());
  await finished;
  t.deepEqual(got, ['a', 'b']);
});
