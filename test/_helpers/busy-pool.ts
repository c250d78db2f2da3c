// A started one-thread pool whose thread is busy for a moment, and a way
// to queue tasks pinned to that thread (an affinity key): they queue up
// behind the busy task and the thread takes them together, whatever the
// pool knows of their functions. Unpinned, a function the pool does not
// know to be quick is taken one task at a time (native/pool.h Take()), so
// a test of what a thread does with tasks it took but has not started
// (hands them back, dies with them) needs this.
import { deferToThreadPool, reactor, ThreadPool, type ThreadPoolOptions } from 'reactor-threads';
import { spin } from '../_fixtures/tasks.cjs';
import { waitFor } from './wait.js';

export async function busyOneThreadPool(options: ThreadPoolOptions = {}) {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, ...options });
  pool.start();
  const pinned = deferToThreadPool.with({ affinity: 'one thread' });
  const busy = pinned(reactor, pool, spin, 100);
  await waitFor(() => pool.busy === 1);
  return { pool, pinned, busy };
}
