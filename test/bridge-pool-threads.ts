// A blocked pool thread does not block others: it hands back the tasks it
// took but has not started, and a pool whose every thread waits on its
// owner while work is queued reports it instead of hanging.
import test from 'ava';
import { deferToThreadPool, PoolStarvedError, PoolStoppedError, reactor, ThreadPool, type ThreadPoolOptions } from 'reactor-threads';
import { add } from './_fixtures/tasks.cjs';
import { busyOneThreadPool, parkedUntilSecond } from './_helpers/busy-pool.js';
import { callProxy } from './_fixtures/bridge-tasks.cjs';
import { callAfterGate, takeTicket } from './_fixtures/shared-tasks.cjs';
import { waitFor } from './_helpers/wait.js';
import { neverCloses } from './_fixtures/lifecycle.cjs';

test('a thread parked in a blocking call hands back the tasks it has not started', async (t) => {
  const { pool, pinned, busy } = await busyOneThreadPool({ starvationTimeout: Infinity });
  // The slow call's reactor side answers only once the quick task is done,
  // which it can be only if the parked thread handed it back.
  const { slow, second: quick, parked } = parkedUntilSecond(pool, pinned, () => pinned(reactor, pool, add, 1, 2));
  t.true(await parked);
  t.is(pool.queued, 1, `the untaken task went back to the queue (queued ${pool.queued}, busy ${pool.busy})`);
  pool.adjustPoolsize(1, 2);  // room for a second thread, which takes it
  t.deepEqual(await Promise.all([slow, quick]), ['slow', 3]);
  await busy;
  await pool.stop();
});

test('tasks a parked thread hands back start in the order they were made', async (t) => {
  const { pool, pinned, busy } = await busyOneThreadPool({ starvationTimeout: Infinity });
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const { slow, second: tickets, parked } = parkedUntilSecond(pool, pinned,
    () => Promise.all([0, 1, 2, 3].map(() => pinned(reactor, pool, takeTicket, counter))));
  t.true(await parked);
  t.is(pool.queued, 4, `all four went back to the queue (queued ${pool.queued}, busy ${pool.busy})`);
  pool.adjustPoolsize(1, 2);
  t.is(await slow, 'slow');
  t.deepEqual(await tickets, [0, 1, 2, 3]);
  await busy;
  await pool.stop();
});

const handedBackWhileStopping = test.macro(async (t, options: ThreadPoolOptions) => {
  const { pool, pinned, busy } = await busyOneThreadPool({ starvationTimeout: Infinity, ...options });
  // The thread takes the five pinned calls together, and is held by a gate
  // in the first while stop() begins: stop() lets taken tasks run. Then it
  // would park, and hands the four back; no thread takes from the queue
  // now, so they stay its own (before, they waited there until the pool's
  // end, and failed with PoolStoppedError). A stopping pool's thread does
  // not wait on its owner: the call itself fails.
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const slow = pinned(reactor, pool, callAfterGate, gate, () => 'answered');
  const tickets = Promise.allSettled([0, 1, 2, 3].map(() => pinned(reactor, pool, takeTicket, counter)));
  await busy;
  t.true(await waitFor(() => pool.queued === 0), 'the thread took the five together');
  const stopped = pool.stop();
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  await t.throwsAsync(slow, { instanceOf: PoolStoppedError, message: /a thread of a stopping pool does not wait on its owner/ });
  t.deepEqual((await tickets).map((o) => o.status === 'fulfilled' ? o.value : String(o.reason)), [0, 1, 2, 3]);
  await stopped;
  t.is(pool.stats().threadsDied, 0);
});

test('tasks a thread hands back as it parks while the pool stops still run there; its blocking call fails with PoolStoppedError',
  handedBackWhileStopping, {});
// (Six in all: the busy one, then the five it takes together, which its
// budget of tasks allows (a thread takes no more than maxTasksPerThread);
// the four it hands back count against it while they wait, and run there
// after its call fails, the last one recycling it.)
test('tasks a thread hands back as it parks while the pool stops still run there within its maxTasksPerThread, the last recycling it',
  handedBackWhileStopping, { maxTasksPerThread: 6 });

test('a pool whose every thread waits on work queued behind it reports PoolStarvedError', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, starvationTimeout: 200 });
  pool.start();
  const reported: unknown[] = [];
  pool.on('error', (e) => reported.push(e));
  // The thread waits on the reactor, whose function waits on the same pool.
  const task = deferToThreadPool(reactor, pool, callProxy, () => deferToThreadPool(reactor, pool, add, 1, 2));
  await t.throwsAsync(task, { instanceOf: PoolStarvedError });
  t.is(reported.length, 1);
  t.true(reported[0] instanceof PoolStarvedError);
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4, 'the pool serves again');
  await pool.stop();
});

test('a pool whose one serving thread waits on work queued behind it reports PoolStarvedError while a recycled thread is still in its onThreadExit', async (t) => {
  // (Three tasks a thread: the replacement runs the test's three, and no hook of its blocks a third thread.)
  const pool = new ThreadPool({ maxThreads: 1, maxTasksPerThread: 3, starvationTimeout: 200, onThreadExit: neverCloses, cancelGrace: 100 });
  pool.start();
  for (let i = 0; i < 3; i++) await deferToThreadPool(reactor, pool, add, 1, 1);  // the last recycles it; its hook never settles
  const reported: unknown[] = [];
  pool.on('error', (e) => reported.push(e));
  // (Before: the thread in its hook counted as one not parked, so the starvation was never reported.)
  const task = deferToThreadPool(reactor, pool, callProxy, () => deferToThreadPool(reactor, pool, add, 1, 2));
  await t.throwsAsync(task, { instanceOf: PoolStarvedError });
  t.is(reported.length, 1);
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4, 'the pool serves again');
  await pool.stop();
});
