// A started one-thread pool whose thread is held busy, and a way to queue
// tasks pinned to that thread (an affinity key): they queue up behind the
// busy task and the thread takes them together, whatever the pool knows
// of their functions. Unpinned, a function the pool does not know to be
// quick is taken one task at a time (native/pool.h Take()), so a test of
// what a thread does with tasks it took but has not started (hands them
// back, dies with them) needs this.
//
// The busy task waits on shared memory until the turn that queued the
// first pinned task is over (setImmediate), not for a fixed time: a test
// whose loop was late (a loaded machine, other tests in the process) once
// queued its second task after the thread had taken the first alone and
// parked in it, and the second, pinned to the parked thread, never ran.
import { deferToThreadPool, reactor, ThreadPool, type ThreadPoolOptions } from 'reactor-threads';
import { waitForFlag } from '../_fixtures/shared-tasks.cjs';
import { callProxy } from '../_fixtures/bridge-tasks.cjs';
import { platformTimeout, taskStarted, waitFor } from './wait.js';

export async function busyOneThreadPool(options: ThreadPoolOptions = {}) {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, ...options });
  pool.start();
  const pin = deferToThreadPool.with({ affinity: 'one thread' });
  // flag[1]: the busy task started; flag[0]: it may end.
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const busy = pin(reactor, pool, waitForFlag, flag);
  // (A fresh pool's thread starts first: 15 s, as the Node 22 leg of CI
  // took over 5 with the cores shared by other suites.)
  if (!await taskStarted(flag)) {
    throw new Error('busyOneThreadPool: the busy task never started');
  }
  let releasing = false;
  const release = () => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  const pinned: typeof pin = (...args) => {
    const p = pin(...args);
    if (!releasing) {
      releasing = true;
      setImmediate(release);
    }
    return p;
  };
  return { pool, pinned, busy };
}

type Pinned = Awaited<ReturnType<typeof busyOneThreadPool>>['pinned'];

/**
 * On a busyOneThreadPool: a pinned call whose thread parks in a blocking
 * call to the reactor until the call `queueSecond` makes (pinned too,
 * behind it) settles. Both end only if the parked thread hands the second
 * back, unstarted, and another thread runs it. `parked` resolves true
 * once the thread parked (false if it never did).
 */
export function parkedUntilSecond<T>(pool: ThreadPool, pinned: Pinned, queueSecond: () => Promise<T>) {
  let parked = false;
  let secondDone!: () => void;
  const secondSettled = new Promise<void>((r) => { secondDone = r; });
  const slow = pinned(reactor, pool, callProxy, () => {
    parked = true;
    return secondSettled.then(() => 'slow');
  });
  const second = queueSecond().finally(secondDone);
  // (15 s: in CI's 8-CPU run, under load, the thread once took over 5 s
  // to get through the busy task and park.)
  return { slow, second, parked: waitFor(() => parked, platformTimeout(15_000)) };
}
