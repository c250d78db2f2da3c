// Child process: a call times out while its task ignores the abort, on a
// pool that never terminates such threads. The caller has its answer, so
// nothing is in flight for it: the process must exit by itself, long
// before the task's 20 s spin ends. Prints the error and the counts.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import tasks from './tasks.cjs';

const pool = new ThreadPool({ maxThreads: 1, cancelGrace: Infinity, name: 'timeouts' });
pool.start();
const signal = new AbortController();
const byTimeout = deferToThreadPool.with({ runTimeout: 100 })(reactor, pool, tasks.ignoreAbort, 20_000)
  .catch((e: Error) => e.name);
const queued = deferToThreadPool.with({ signal: signal.signal })(reactor, pool, tasks.add, 1, 2)
  .catch((e: Error) => e.name);
signal.abort();
console.log(JSON.stringify({ timeout: await byTimeout, cancelled: await queued, count: pool.stats().cancelled }));
