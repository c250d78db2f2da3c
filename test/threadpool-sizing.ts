// ThreadPool sizing: adjustPoolsize bounds, growth up to max, shrinking to
// min after the idle timeout, and suggestThreadPoolSize.
import test from 'ava';
import { availableParallelism } from 'node:os';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { cpuCounts, spin } from './_fixtures/tasks.cjs';
import { callProxy } from './_fixtures/bridge-tasks.cjs';
import { fixture, runChild } from './_helpers/child.js';
import { waitFor } from './_helpers/wait.js';

test('options are validated with errors that name them', (t) => {
  t.throws(() => new ThreadPool({ minThreads: -1 }), { instanceOf: RangeError, message: /minThreads/ });
  t.throws(() => new ThreadPool({ maxThreads: 0 }), { instanceOf: RangeError, message: /maxThreads/ });
  t.throws(() => new ThreadPool({ minThreads: 3, maxThreads: 2 }), { instanceOf: RangeError, message: /minThreads/ });
  t.throws(() => new ThreadPool({ maxThreads: 1.5 }), { instanceOf: TypeError, message: /maxThreads/ });
  t.throws(() => new ThreadPool({ idleTimeout: -5 }), { instanceOf: RangeError, message: /idleTimeout/ });
  t.throws(() => new ThreadPool({ concurrentTasksPerThread: 0 }), { instanceOf: RangeError, message: /concurrentTasksPerThread/ });
  t.throws(() => new ThreadPool({ name: 5 as never }), { instanceOf: TypeError, message: /name/ });
});

test('idleTimeout, starvationTimeout and cancelGrace longer than Node\'s timers hold are refused; Infinity is not', (t) => {
  // (Each ends up in a setTimeout, which Node turns into 1 ms above 2 ** 31 - 1: an idleTimeout of 3e9
  // retired idle threads at once, a cancelGrace of 3e9 terminated a cancelled task's thread at once.)
  for (const name of ['idleTimeout', 'starvationTimeout', 'cancelGrace'] as const) {
    t.throws(() => new ThreadPool({ [name]: 3e9 }), { instanceOf: RangeError,
      message: new RegExp(`^${name} must be a number of milliseconds >= 0 and at most 2147483647 .*or Infinity`) }, name);
    t.throws(() => new ThreadPool({ [name]: -1 }), { instanceOf: RangeError, message: new RegExp(name) }, name);
    t.notThrows(() => new ThreadPool({ [name]: Infinity }), name);
    t.notThrows(() => new ThreadPool({ [name]: 2_147_483_647 }), name);
  }
});

test('a pool\'s default max is the CPU count its thread sees, the same in a pool thread and a child process', async (t) => {
  // npm run test:cpus8 reports 8 CPUs everywhere (test/_helpers/cpus-8.cjs)
  // and says so in REACTOR_THREADS_TEST_CPUS: this also checks that the
  // preload reached this thread, the pool's threads and child processes.
  const cpus = availableParallelism();
  const asked = process.env.REACTOR_THREADS_TEST_CPUS;
  if (asked !== undefined) t.is(cpus, Number(asked), 'the CPU count this test run asked for');
  const pool = new ThreadPool();
  t.is(pool.max, cpus);
  pool.adjustPoolsize(0, 1);
  pool.start();
  t.deepEqual(await deferToThreadPool(reactor, pool, cpuCounts), { availableParallelism: cpus, defaultMax: cpus }, 'in a pool thread');
  await pool.stop();
  const r = await runChild(fixture('cpu-counts.cjs'));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { availableParallelism: cpus, defaultMax: cpus }, 'in a child process');
});

test('adjustPoolsize rejects min < 0 and min > max with a RangeError', async (t) => {
  const pool = new ThreadPool({ maxThreads: 4 });
  t.throws(() => pool.adjustPoolsize(-1, 2), { instanceOf: RangeError });
  t.throws(() => pool.adjustPoolsize(3, 2), { instanceOf: RangeError });
  t.is(pool.min, 0);
  t.is(pool.max, 4);
  pool.adjustPoolsize(1, 3);
  t.is(pool.min, 1);
  t.is(pool.max, 3);
  pool.adjustPoolsize(undefined, 5);
  t.is(pool.min, 1);
  t.is(pool.max, 5);
  await pool.stop();
});

test('adjustPoolsize on a started pool starts threads up to the new min', async (t) => {
  const pool = new ThreadPool({ maxThreads: 4 });
  pool.start();
  t.is(pool.workers, 0);
  pool.adjustPoolsize(3, 4);
  t.is(pool.workers, 3);
  await pool.stop();
});

test('a busy pool grows to max and no further', async (t) => {
  // (No starvation watch: the held threads wait on this thread on purpose,
  // longer than its default second when the machine is loaded.)
  const pool = new ThreadPool({ maxThreads: 3, concurrentTasksPerThread: 1, starvationTimeout: Infinity });
  pool.start();
  // Each task holds its thread in a blocking call until the gate opens, so
  // the growth does not depend on how fast threads start (slow under ASan).
  let entered = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  const held = (): Promise<void> => { entered++; return gate; };
  const tasks = Array.from({ length: 9 }, () => deferToThreadPool(reactor, pool, callProxy, held));
  t.true(await waitFor(() => entered === 3), `${entered} tasks running`);
  await new Promise((r) => setTimeout(r, 200));
  t.is(pool.workers, 3);
  t.is(entered, 3, 'no fourth task ran while three held every thread');
  open();
  await Promise.all(tasks);
  t.is(entered, 9);
  t.true(pool.workers <= 3);
  await pool.stop();
});

test('idle threads above min exit after the idle timeout', async (t) => {
  const pool = new ThreadPool({
    minThreads: 1, maxThreads: 3, idleTimeout: 300, concurrentTasksPerThread: 1, starvationTimeout: Infinity,
  });
  pool.start();
  // The tasks hold their threads until three run at once, so the growth
  // does not depend on how fast threads start on a loaded machine.
  let entered = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  const held = (): Promise<void> => { entered++; return gate; };
  const tasks = Array.from({ length: 6 }, () => deferToThreadPool(reactor, pool, callProxy, held));
  t.true(await waitFor(() => entered === 3), `${entered} tasks running: the pool did not grow above min under load`);
  open();
  await Promise.all(tasks);
  t.true(await waitFor(() => pool.workers === 1), `still ${pool.workers} threads`);
  await new Promise((r) => setTimeout(r, 400));
  t.is(pool.workers, 1);  // never below min
  await pool.stop();
});

test('lowering max makes surplus idle threads exit', async (t) => {
  const pool = new ThreadPool({ minThreads: 3, maxThreads: 3, idleTimeout: Infinity });
  pool.start();
  await Promise.all(Array.from({ length: 3 }, () => deferToThreadPool(reactor, pool, spin, 1)));
  pool.adjustPoolsize(0, 1);
  t.true(await waitFor(() => pool.workers === 1), `still ${pool.workers} threads`);
  await pool.stop();
});

test('live counts report workers, busy, idle and queued', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
  pool.start();
  const running = deferToThreadPool(reactor, pool, spin, 400);
  const queued = deferToThreadPool(reactor, pool, spin, 1);
  t.true(await waitFor(() => pool.busy === 1));
  t.is(pool.workers, 1);
  t.is(pool.queued, 1);
  t.is(pool.idle, 0);
  await Promise.all([running, queued]);
  t.true(await waitFor(() => pool.idle === 1 && pool.busy === 0));
  await pool.stop();
});

test('suggestThreadPoolSize sets the max of the reactor\'s pool', (t) => {
  reactor.suggestThreadPoolSize(3);
  t.is(reactor.getThreadPool().max, 3);
  reactor.suggestThreadPoolSize(2);
  t.is(reactor.getThreadPool().max, 2);
  t.throws(() => reactor.suggestThreadPoolSize(0), { instanceOf: RangeError });
});
