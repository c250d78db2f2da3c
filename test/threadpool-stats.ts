// pool.stats(): counts and timings from native timestamps, and the
// bounded queue with its ways to wait for room.
import test from 'ava';
import { CancelledError, deferToThreadPool, QueueFullError, reactor, ThreadPool } from 'reactor-threads';
import { add, exitThread, fail, sleep } from './_fixtures/tasks.cjs';
import { callReactor } from './_fixtures/bridge-tasks.cjs';
import { waitFor } from './_helpers/wait.js';

test('stats() counts completed, failed, cancelled and died, with queue wait and run times', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
  pool.start();
  await Promise.all([1, 2, 3].map(() => deferToThreadPool(reactor, pool, sleep, 30)));
  await t.throwsAsync(deferToThreadPool(reactor, pool, fail, 'x'));
  const blocker = deferToThreadPool(reactor, pool, sleep, 100);
  const ac = new AbortController();
  const withdrawn = deferToThreadPool.with({ signal: ac.signal })(reactor, pool, add, 1, 1);
  ac.abort();
  await t.throwsAsync(withdrawn, { instanceOf: CancelledError });
  await blocker;
  await t.throwsAsync(deferToThreadPool(reactor, pool, exitThread, 2));
  await deferToThreadPool(reactor, pool, callReactor, 'addOnReactor', 1, 2);
  const s = pool.stats();
  t.is(s.completed, 5);  // three sleeps, the blocker, the bridge task
  t.is(s.failed, 1);
  t.is(s.cancelled, 1);
  t.is(s.threadsDied, 1);
  t.true(s.bridgeCallsServed >= 1);
  t.is(s.runTime.count, 6);
  t.true(s.runTime.p50 >= 25 && s.runTime.max >= 90, `run times ${JSON.stringify(s.runTime)}`);
  t.true(s.runTime.min <= s.runTime.p50 && s.runTime.p50 <= s.runTime.p99 && s.runTime.p99 <= s.runTime.max);
  t.true(s.queueWait.max >= 20, 'a task queued behind a 30 ms task waited for it');
  await pool.stop();
  const after = pool.stats();
  t.is(after.queued, 0, 'stats() still answers after stop()');
  // (They read 0 once the native pool was gone: helper-135's hunt.)
  t.like(after, { completed: 5, failed: 1, cancelled: 1, threadsDied: 1 }, 'and keeps the pool\'s counts');
  t.is(after.runTime.count, 6);
});

test('a full queue refuses a call with QueueFullError; whenRoom() and drain tell when there is room', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1, maxQueue: 2 });
  pool.start();
  const running = deferToThreadPool(reactor, pool, sleep, 400);
  t.true(await waitFor(() => pool.busy === 1));
  const queued = [deferToThreadPool(reactor, pool, add, 1, 1), deferToThreadPool(reactor, pool, add, 2, 2)];
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, add, 3, 3), { instanceOf: QueueFullError });
  t.is((err as QueueFullError).maxQueue, 2);
  let drained = false;
  pool.once('drain', () => { drained = true; });
  await pool.whenRoom();
  t.true(pool.queued < 2);
  t.true(drained);
  t.is(await deferToThreadPool(reactor, pool, add, 4, 4), 8);
  await Promise.all([running, ...queued]);
  await pool.stop();
});

test('maxQueue is validated', (t) => {
  t.throws(() => new ThreadPool({ maxQueue: 0 }), { instanceOf: RangeError, message: /maxQueue/ });
});
