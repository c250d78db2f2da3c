// A thread that dies under a task: the task rejects with ThreadDiedError,
// other work is unaffected and the pool replaces the thread.
import test from 'ava';
import { waitFor } from './_helpers/wait.js';
import { deferToThreadPool, fromModule, reactor, ThreadDiedError, ThreadPool, ValueNotCloneableError } from 'reactor-threads';
import { appendLine, add, crashSoon, exhaustMemory, exitIf, exitThread, fail, overflowStack, spin } from './_fixtures/tasks.cjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('a task that exits its thread rejects with ThreadDiedError carrying the exit code', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, exitThread, 3), { instanceOf: ThreadDiedError });
  t.is((err as ThreadDiedError).exitCode, 3);
  t.is((err as ThreadDiedError).code, 'ERR_THREAD_DIED');
  t.is(await deferToThreadPool(reactor, pool, add, 1, 2), 3, 'the pool keeps serving on a new thread');
  await pool.stop();
});

test('an uncaught error thrown later by a timer kills the thread; the pool still serves', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const errors: unknown[] = [];
  pool.on('error', (e) => errors.push(e));
  await deferToThreadPool(reactor, pool, () => { setTimeout(() => { throw new Error('late'); }, 5); });
  t.true(await waitFor(() => errors.length > 0));
  t.is(errors.length, 1);
  t.true(errors[0] instanceof ThreadDiedError);
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4);
  await pool.stop();
});

test('a fault of the library\'s own code in a thread, thrown out of a native wake-up, ends that thread, which is replaced', async (t) => {
  // Node drops what a native callback throws (N-API's legacy policy,
  // DEP0168), so a thread whose delivery of a wake-up threw lived on with
  // its work half done. Here the fault is provoked: the thread's code
  // reads performance.now() after each batch it takes.
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const errors: unknown[] = [];
  pool.on('error', (e) => errors.push(e));
  await deferToThreadPool(reactor, pool, () => { setTimeout(() => { Reflect.set(globalThis, 'performance', undefined); }, 0); });
  await new Promise((r) => setTimeout(r, 50));
  const outcome = await Promise.allSettled([deferToThreadPool(reactor, pool, add, 1, 2)]);
  t.true(await waitFor(() => errors.length > 0), `the thread lived on (its task: ${JSON.stringify(outcome)})`);
  t.true(errors[0] instanceof ThreadDiedError);
  t.regex(String((errors[0] as ThreadDiedError).cause), /reading 'now'/);
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4, 'a new thread serves');
  t.is(pool.stats().threadsDied, 1);
  await pool.stop();
});

test('a task whose result\'s then cannot be read (a revoked Proxy) rejects with ValueNotCloneableError; the thread lives on', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, () => {
    // What immer's produce() leaves of a draft a task returns by mistake.
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  }));
  t.true(err instanceof ValueNotCloneableError, `${err?.name}: ${err?.message}`);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 2), 3);
  t.is(pool.stats().threadsDied, 0);
  await pool.stop();
});

test('tasks a dying thread took but never started run elsewhere, once each', async (t) => {
  // One thread takes a batch of tiny tasks behind the one that kills it:
  // the killer dies with the thread, the others run on its replacement.
  // (Pinned by an affinity key, they queue up behind a busy task and are
  // taken together; unpinned, a function the pool does not know to be
  // quick is taken one task at a time.)
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 8 });
  pool.start();
  const file = join(mkdtempSync(join(tmpdir(), 'rt-death-')), 'log');
  const pinned = deferToThreadPool.with({ affinity: 'k' });
  await deferToThreadPool(reactor, pool, add, 0, 0);  // the thread is up and idle
  const busy = pinned(reactor, pool, spin, 50);
  const killer = pinned(reactor, pool, exitThread, 7);
  const others = Array.from({ length: 5 }, (_, i) => pinned(reactor, pool, appendLine, file, `task ${i}`));
  await busy;
  await t.throwsAsync(killer, { instanceOf: ThreadDiedError });
  await Promise.all(others);
  const ran = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(':')[1]);
  t.deepEqual(ran.sort(), ['task 0', 'task 1', 'task 2', 'task 3', 'task 4'], 'each ran exactly once');
  await pool.stop();
});

test('a task that runs its thread out of memory under resourceLimits rejects with ThreadDiedError, its message saying so', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
  pool.start();
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, exhaustMemory), { instanceOf: ThreadDiedError });
  const code = (err!.cause as { code?: string } | undefined)?.code;
  t.regex(String(code ?? err!.message), /OUT_OF_MEMORY|exit code/);
  // (Not only in the cause's code: a caller who logs the message sees why.)
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') t.regex(err!.message, /exited \(out of memory: its heap reached resourceLimits\)/);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2, 'a new thread serves the pool');
  await pool.stop();
});

test('a stack overflow in a task is that task\'s RangeError; the thread lives on', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  await t.throwsAsync(deferToThreadPool(reactor, pool, overflowStack, 0), { instanceOf: RangeError, message: /call stack/ });
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4);
  t.is(pool.stats().threadsDied, 0);
  await pool.stop();
});

test('tasks of one batch start in the order taken, even when the first waits for its function to load', async (t) => {
  // The thread has exitIf loaded, not fail: the failing task loads first,
  // then runs and delivers its own error; only then does exitIf end the thread.
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  t.is(await deferToThreadPool(reactor, pool, exitIf, false), 'stayed');
  // Pinned: taken together behind the busy task (see above).
  const pinned = deferToThreadPool.with({ affinity: 'k' });
  const busy = pinned(reactor, pool, spin, 50);
  const boom = pinned(reactor, pool, fail, 'its own error');
  const exit = pinned(reactor, pool, exitIf, true);
  await t.throwsAsync(boom, { instanceOf: TypeError, message: 'its own error' });
  const died = await t.throwsAsync(exit, { instanceOf: ThreadDiedError });
  t.is((died as ThreadDiedError).exitCode, 7);
  await busy;
  t.is(pool.stats().threadsDied, 1, 'one thread died, once');
  await pool.stop();
});

test('a task still loading its function when its thread dies runs on another thread', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, add, 0, 0);
  const crash = deferToThreadPool(reactor, pool, crashSoon, 100);
  const slow = deferToThreadPool(reactor, pool, fromModule<(x: number) => number>('./_fixtures/slow-to-load.mjs', 'doubled'), 21);
  await t.throwsAsync(crash, { instanceOf: ThreadDiedError });
  t.is(await slow, 42);
  t.is(pool.stats().threadsDied, 1);
  await pool.stop();
});

test('a task whose module ends every thread that loads it fails with ThreadDiedError after one retry', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, add, 0, 0);
  const err = await t.throwsAsync(
    deferToThreadPool(reactor, pool, fromModule<() => string>('./_fixtures/exits-on-import.cjs', 'neverRuns')),
    { instanceOf: ThreadDiedError });
  t.is((err as ThreadDiedError).exitCode, 9);
  t.is(pool.stats().threadsDied, 2, 'its first thread and the one it was retried on');
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2, 'the pool keeps serving');
  await pool.stop();
});
