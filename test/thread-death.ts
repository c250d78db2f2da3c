// A thread that dies under a task: the task rejects with ThreadDiedError,
// other work is unaffected and the pool replaces the thread.
import test from 'ava';
import { waitFor } from './_helpers/wait.js';
import { deferToThreadPool, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import { add, exitThread } from './_fixtures/tasks.cjs';

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
