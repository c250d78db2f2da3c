// ThreadPool start/stop: Twisted's semantics of started, joined, work
// queued before start, stop joining its threads, and work after stop.
import test from 'ava';
import { deferToThreadPool, PoolStoppedError, reactor, ThreadPool } from 'reactor-threads';
import { add, sleep, spin } from './_fixtures/tasks.cjs';
import { neverAnswers } from './_fixtures/bridge-tasks.cjs';
import { waitFor } from './_helpers/wait.js';

test('a new pool is neither started nor joined and has no threads', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 3, name: 'fresh' });
  t.false(pool.started);
  t.false(pool.joined);
  t.is(pool.workers, 0);
  t.is(pool.name, 'fresh');
  t.is(pool.min, 1);
  t.is(pool.max, 3);
  await pool.stop();
});

test('start() starts minThreads threads', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 4 });
  pool.start();
  t.true(pool.started);
  t.is(pool.workers, 2);
  await pool.stop();
});

test('stop() resolves once every thread has exited, and marks the pool joined', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  await deferToThreadPool(reactor, pool, add, 1, 1);
  await pool.stop();
  t.true(pool.joined);
  t.false(pool.started);
  t.is(pool.workers, 0);
});

test('stop() lets running tasks finish and rejects queued ones', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
  pool.start();
  const running = deferToThreadPool(reactor, pool, sleep, 400);
  t.true(await waitFor(() => pool.busy === 1));  // the thread took it
  const queued = t.throwsAsync(deferToThreadPool(reactor, pool, add, 1, 1), { instanceOf: PoolStoppedError });
  const stopped = pool.stop();
  t.is(typeof (await running), 'number');
  await queued;
  await stopped;
});

test('stop({ drain: true }) runs queued work before the threads exit', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
  pool.start();
  const all = [deferToThreadPool(reactor, pool, sleep, 30), deferToThreadPool(reactor, pool, add, 2, 2)];
  await pool.stop({ drain: true });
  const [, sum] = await Promise.all(all);
  t.is(sum, 4);
});

// (Without a timeout, a task that never ends kept stop() waiting for ever:
// a server's shutdown on SIGTERM never finished, helper-152.)
test('stop({ timeout }) cancels the tasks still running when it passes, ending threads that ignore it, and resolves', async (t) => {
  const pool = new ThreadPool({ maxThreads: 2, concurrentTasksPerThread: 1, cancelGrace: 100 });
  pool.start();
  const looping = deferToThreadPool(reactor, pool, spin, 3_600_000);
  const pending = deferToThreadPool(reactor, pool, neverAnswers);
  t.true(await waitFor(() => pool.busy === 2));
  const started = Date.now();
  await pool.stop({ timeout: 150 });
  t.true(Date.now() - started >= 140, 'not before its timeout');
  await t.throwsAsync(looping, { instanceOf: PoolStoppedError, message: /stop\(\)'s timeout of 150 ms/ });
  await t.throwsAsync(pending, { instanceOf: PoolStoppedError });
  t.true(pool.joined);
});

test('stop({ timeout }) after a stop() that waits shortens it; a draining stop cancels what is still queued at its timeout', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1, cancelGrace: 100 });
  pool.start();
  const looping = deferToThreadPool(reactor, pool, spin, 3_600_000);
  const queued = deferToThreadPool(reactor, pool, add, 1, 2);
  t.true(await waitFor(() => pool.busy === 1));
  const stopped = pool.stop({ drain: true });
  t.is(pool.stop({ timeout: 100 }), stopped, 'the same Promise');
  await stopped;
  await t.throwsAsync(looping, { instanceOf: PoolStoppedError });
  await t.throwsAsync(queued, { instanceOf: PoolStoppedError });
});

test('stop() refuses a timeout that is not a number of milliseconds, before anything stops', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  for (const timeout of [-1, Number.NaN, 3e9, '100']) {
    t.throws(() => pool.stop({ timeout } as { timeout: number }), { instanceOf: RangeError, message: /options\.timeout/ });
  }
  t.false(pool.joined);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2);
  await pool.stop({ timeout: Infinity });
});

test('work submitted after stop() is rejected with PoolStoppedError', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  await pool.stop();
  await t.throwsAsync(deferToThreadPool(reactor, pool, add, 1, 1), { instanceOf: PoolStoppedError, code: 'ERR_POOL_STOPPED' } as never);
  const outcomes: boolean[] = [];
  pool.callInThreadWithCallback((ok) => { outcomes.push(ok); }, add, 1, 1);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(outcomes, [false]);
  t.throws(() => pool.start(), { instanceOf: PoolStoppedError });
});

test('stop() is idempotent and returns the same Promise', async (t) => {
  const pool = new ThreadPool({ minThreads: 1 });
  pool.start();
  const a = pool.stop();
  t.is(pool.stop(), a);
  await a;
});

test('a pool stopped before it started rejects what was queued', async (t) => {
  const pool = new ThreadPool();
  const queued = deferToThreadPool(reactor, pool, add, 1, 1);
  await pool.stop();
  await t.throwsAsync(queued, { instanceOf: PoolStoppedError });
});

test('await using stops the pool', async (t) => {
  let pool: ThreadPool | undefined;
  {
    await using p = new ThreadPool({ minThreads: 1 });
    p.start();
    pool = p;
    t.is(await deferToThreadPool(reactor, p, add, 2, 3), 5);
  }
  t.true(pool.joined);
  t.is(pool.workers, 0);
});

test('a stopped pool answers adjustPoolsize, counts and stats without native errors', async (t) => {
  const pool = new ThreadPool({ maxThreads: 2, starvationTimeout: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, add, 1, 1);
  await pool.stop();
  t.notThrows(() => pool.adjustPoolsize(0, 3));
  t.is(pool.max, 3);
  t.is(pool.queued, 0);
  t.is(pool.stats().threads, 0);
});

test('stop() called again from a callback that stop() runs gets the same Promise, which resolves', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
  pool.start();
  const running = deferToThreadPool(reactor, pool, sleep, 100);
  t.true(await waitFor(() => pool.busy === 1));
  let inner: Promise<void> | undefined;
  // Queued behind the running task: stop() settles it, running this callback.
  pool.callInThreadWithCallback(() => { inner = pool.stop(); }, add, 1, 2);
  const outer = pool.stop();
  t.is(inner, outer, 'one ending, one Promise');
  // (Before: a second ending replaced the first's join, and one of them never resolved.)
  const done = await Promise.race([outer.then(() => 'resolved'), new Promise((r) => setTimeout(() => r('not after 10 s'), 10_000))]);
  t.is(done, 'resolved');
  t.is(await running, await running);
});
