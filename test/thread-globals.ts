// A task may change its thread's globals (a test framework's fake timers,
// a polyfill): the thread's own scheduling keeps Node's timers, taken as
// the package loads, so the thread goes on taking work.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add } from './_fixtures/tasks.cjs';
import { within } from './_helpers/settlements.js';
import { platformTimeout } from './_helpers/wait.js';

test('a task that replaces its thread\'s timers with fakes that never fire does not stop the thread taking work', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, () => {
    // What fake timers do until they are told to advance: queue, never run.
    const never = () => ({ ref() { return this; }, unref() { return this; }, hasRef: () => false });
    for (const name of ['setImmediate', 'setTimeout', 'setInterval']) Reflect.set(globalThis, name, never);
  });
  // More batches than a thread runs before it steps back to its loop (64),
  // and it resumes on an Immediate.
  let settled = 0;
  const calls = Array.from({ length: 2_000 }, (_, i) => deferToThreadPool(reactor, pool, add, i, 1).finally(() => { settled++; }));
  const results = await within(Promise.all(calls), platformTimeout(10_000), 'the calls after the fakes', () => `${2_000 - settled} of 2000`);
  t.is(results[1_999], 2_000);
  await pool.stop();
});
