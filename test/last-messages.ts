// What a thread sent before its task ended is handled before the task
// ends for its caller, even when the first of it waits for its function
// to load on the reactor: when the thread dies under the task, when it is
// terminated while its calls wait behind its held-back results, and when
// the pool stops right after the task finished.
import test from 'ava';
import { deferToThreadPool, PoolStoppedError, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import { callsThenEnds, callsThenExits, fireCalls } from './_fixtures/bridge-tasks.cjs';
import { printLine } from './_fixtures/console-order-tasks.cjs';
import { spin } from './_fixtures/tasks.cjs';
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

test.serial('calls held behind a printed result still run, in order, when their thread is terminated before it sends them', async (t) => {
  // The first task prints, so its result waits until the owner confirms
  // the output; the second's calls and result queue behind it; the third
  // blocks the thread's loop (the confirmation is never read) past its
  // runTimeout and cancelGrace, and the pool terminates the thread. Before
  // the fix the calls, held in the thread's JavaScript, were lost (5 of 5
  // rounds) while the second task's result arrived.
  const rounds = 5;
  const wrong: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, cancelGrace: 20 });
    pool.start();
    await deferToThreadPool(reactor, pool, spin, 0);
    const order: string[] = [];
    const printed = deferToThreadPool(reactor, pool, printLine, 'stdout', r);
    const called = deferToThreadPool(reactor, pool, fireCalls, (i: number) => { order.push(`call ${i}`); }, 5)
      .then((n) => { order.push(`result ${n}`); }, (e: unknown) => { order.push(`rejected ${String(e)}`); });
    const blocked = deferToThreadPool.with({ runTimeout: 5 })(reactor, pool, spin, 300).then(() => 'ran', (e: Error) => e.name);
    await Promise.all([printed, called, blocked]);
    if (order.join() !== 'call 0,call 1,call 2,call 3,call 4,result 5') wrong.push(`round ${r}: ${order.join(', ')}`);
    await pool.stop();
  }
  t.deepEqual(wrong, []);
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
