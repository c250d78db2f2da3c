// What a thread sent before its task ended is handled before the task
// ends for its caller, even when the first of it waits for its function
// to load on the reactor: when the thread dies under the task, and when
// the pool stops right after the task finished.
import test from 'ava';
import { deferToThreadPool, PoolStoppedError, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import { callsThenEnds, callsThenExits } from './_fixtures/bridge-tasks.cjs';
import { waitFor } from './_helpers/wait.js';

function reactorLog(): string[] {
  const log: string[] = [];
  (globalThis as { reactorLog?: string[] }).reactorLog = log;
  return log;
}

test.serial('a thread that dies under its task still has its last calls run, before the task rejects', async (t) => {
  const log = reactorLog();
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const outcome = deferToThreadPool(reactor, pool, callsThenEnds, (s: string) => { log.push(s); }, 'dies', 7)
    .then(() => 'fulfilled', (e: unknown) => (e instanceof ThreadDiedError ? `ThreadDiedError ${e.exitCode}` : String(e)));
  log.push(await outcome);
  t.deepEqual(log, ['first, loaded on the reactor', 'second', 'ThreadDiedError 7']);
  await pool.stop();
});

test.serial('calls still in the inbox when their thread\'s exit is seen run before its task rejects', async (t) => {
  // The reactor is busy while a fresh thread starts, calls and exits, so
  // the exit event and the wake-up for the calls are both pending when it
  // looks (the exit event was seen first in 1 round of 10 here).
  const rounds = 10;
  const lost: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const pool = new ThreadPool({ maxThreads: 1 });
    pool.start();
    const order: string[] = [];
    const outcome = deferToThreadPool(reactor, pool, callsThenExits, (i: number) => { order.push(`call ${i}`); }, 5, 7)
      .then(() => 'fulfilled', (e: unknown) => (e instanceof ThreadDiedError ? 'ThreadDiedError' : String(e)));
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil) { /* busy */ }
    order.push(await outcome);
    if (order.join() !== 'call 0,call 1,call 2,call 3,call 4,ThreadDiedError') lost.push(`round ${r}: ${order.join(', ')}`);
    await pool.stop();
  }
  t.deepEqual(lost, []);
});

test.serial('a task that finished before stop() keeps its result, though it waits behind a call that loads', async (t) => {
  const log = reactorLog();
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const outcome = deferToThreadPool(reactor, pool, callsThenEnds, (s: string) => { log.push(s); }, 'stops')
    .then((v: string) => v, (e: unknown) => (e instanceof PoolStoppedError ? 'PoolStoppedError' : String(e)));
  // The thread is done with the task; its result waits behind the first call.
  t.true(await waitFor(() => pool.stats().completed === 1), 'the thread finished the task');
  t.deepEqual(log, [], 'the first call is still loading');
  await pool.stop();
  log.push(await outcome);
  t.deepEqual(log, ['first, loaded on the reactor', 'second', 'the result']);
});

test.serial('stop() does not wait for another pool\'s thread whose call still loads', async (t) => {
  const log = reactorLog();
  const loading = new ThreadPool({ maxThreads: 1 });
  const other = new ThreadPool({ maxThreads: 1 });
  loading.start();
  other.start();
  await deferToThreadPool(reactor, other, callsThenEnds, () => undefined, 'other-warm&ms=0');
  log.length = 0;
  const slow = deferToThreadPool(reactor, loading, callsThenEnds, (s: string) => { log.push(s); }, 'other&ms=5000');
  t.true(await waitFor(() => loading.stats().completed === 1), 'the thread finished the task');
  await other.stop();
  t.deepEqual(log, [], 'the other pool stopped while the first call still loaded');
  t.is(await slow, 'the result');
  t.deepEqual(log, ['first, loaded on the reactor', 'second']);
  await loading.stop();
});
