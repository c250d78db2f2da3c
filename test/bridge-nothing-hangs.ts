// Nothing ever hangs: a caller parked in blockingCallFromThread is woken
// with a typed error when the process exits, its pool stops, its own
// Worker is terminated, or its deadline passes (blocking-call-from-thread.ts).
import test from 'ava';
import { deferToThreadPool, PoolStoppedError, reactor, ThreadPool } from 'reactor-threads';
import { callProxy, callReactorCatching } from './_fixtures/bridge-tasks.cjs';
import { fixture, runChild } from './_helpers/child.js';
import { platformTimeout, waitFor } from './_helpers/wait.js';

// A hang here is forever, so the time limits are generous: children start
// slowly on a loaded machine (several seconds each under ASan with the suite
// running beside them). The exit itself is timed from the child's last line.
test('process.exit() ends the process while a pool thread is parked', async (t) => {
  const r = await runChild(fixture('exit-while-parked.mjs'), [], 30_000);
  t.false(r.timedOut, `the process hung (stdout: ${JSON.stringify(r.stdout)})`);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), 'exiting');
  const exitMs = r.ms - (r.firstOutputMs ?? 0);
  t.true(exitMs < platformTimeout(3000), `the exit took ${exitMs} ms`);
});

test('process.exit() ends the process while a plain Worker is parked', async (t) => {
  const r = await runChild(fixture('exit-while-worker-parked.mjs'), [], 30_000);
  t.false(r.timedOut, 'the process hung');
  t.is(r.code, 3, r.stderr);
});

test('worker.terminate() of a plain Worker parked in a blocking call resolves within a second', async (t) => {
  const r = await runChild(fixture('terminate-parked-worker.mjs'), [], 8000);
  t.false(r.timedOut, 'terminate() hung');
  t.is(r.code, 0, r.stderr);
  const ms = Number(r.stdout.trim());
  t.true(ms < platformTimeout(1000), `terminate() took ${ms} ms`);
});

test('stopping the pool wakes its parked thread with PoolStoppedError', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  let parked = false;
  const outcome = deferToThreadPool(reactor, pool, callProxy, () => {
    parked = true;  // the thread's call reached the reactor: it waits now
    return new Promise(() => { /* never answers */ });
  });
  t.true(await waitFor(() => parked));
  await pool.stop();
  await t.throwsAsync(outcome, { instanceOf: PoolStoppedError });
});

test('a blocking call made while its pool is stopping fails at once', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  // stop() comes while the thread is still starting: its call must not park.
  const outcome = deferToThreadPool(reactor, pool, callReactorCatching, 'neverAnswers');
  const stopped = pool.stop({ drain: true });
  t.is((await outcome).name, 'PoolStoppedError');
  await stopped;
});
