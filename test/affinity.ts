// Affinity: calls with the same key run on the same thread while it lives;
// a key is released once none of its calls is queued or running.
import test, { type ExecutionContext } from 'ava';
import { CancelledError, deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add, exitThread, meet, runOrder, spin, threadAfterGate, whereAmI } from './_fixtures/tasks.cjs';
import { waitFor } from './_helpers/wait.js';
import { waitForFlag } from './_fixtures/shared-tasks.cjs';

test('calls with one affinity key run on one thread; keys spread over threads', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const call = (key: string) => deferToThreadPool.with({ affinity: key })(reactor, pool, whereAmI);
  // Both keys' calls are queued before any runs: the second key goes to
  // the thread with less work, the other one.
  const pa = Array.from({ length: 10 }, () => call('user-1'));
  const pb = Array.from({ length: 10 }, () => call('user-2'));
  const [a, b] = await Promise.all([Promise.all(pa), Promise.all(pb)]);
  t.is(new Set(a.map((w) => w.threadId)).size, 1);
  t.is(new Set(b.map((w) => w.threadId)).size, 1);
  t.not(a[0]!.threadId, b[0]!.threadId, 'the second key went to the idle thread');
  await pool.stop();
});

/**
 * 40 calls with one key, the first spinning 50 ms (the pool's second
 * thread comes up meanwhile): they must all run on one thread, in the
 * order they were made.
 */
async function runsOneKeyInOrder(t: ExecutionContext, pool: ThreadPool, made?: Promise<unknown>[]): Promise<void> {
  const calls = made ?? Array.from({ length: 40 }, (_, i) =>
    deferToThreadPool.with({ affinity: 'k' })(reactor, pool, runOrder, i === 0 ? 50 : 0));
  const runs = await Promise.all(calls) as { threadId: number; ranBefore: number }[];
  t.is(new Set(runs.map((r) => r.threadId)).size, 1, `ran on threads ${[...new Set(runs.map((r) => r.threadId))].join(', ')}`);
  const outOfOrder = runs.findIndex((r, i) => i > 0 && r.ranBefore <= runs[i - 1]!.ranBefore);
  t.is(outOfOrder, -1, `call ${outOfOrder} ran before the one made before it`);
}

// (Before the fix, changed after 0.1.1: with no thread up to bind a key to,
// its calls went to the shared queue, where any thread took them, two at
// once and out of order, while the calls made once a thread was up were
// pinned to it and ran first.)
test('on a pool with no thread up yet, one key\'s calls run on one thread, in the order they were made', async (t) => {
  const pool = new ThreadPool({ minThreads: 0, maxThreads: 2 });
  t.teardown(() => pool.stop());
  pool.start();
  await runsOneKeyInOrder(t, pool);
});

test('one key\'s calls made before start() run on one thread, in the order they were made', async (t) => {
  const pool = new ThreadPool({ minThreads: 0, maxThreads: 2 });
  t.teardown(() => pool.stop());
  const calls = Array.from({ length: 40 }, (_, i) =>
    deferToThreadPool.with({ affinity: 'k' })(reactor, pool, runOrder, i === 0 ? 50 : 0));
  pool.start();
  await runsOneKeyInOrder(t, pool, calls);
});

test('after a pool\'s threads retired idle, one key\'s calls run on one thread, in the order they were made', async (t) => {
  const pool = new ThreadPool({ minThreads: 0, maxThreads: 2, idleTimeout: 30 });
  t.teardown(() => pool.stop());
  pool.start();
  await Promise.all([deferToThreadPool(reactor, pool, spin, 20), deferToThreadPool(reactor, pool, spin, 20)]);
  t.true(await waitFor(() => pool.stats().threads === 0), 'the threads retired');
  await runsOneKeyInOrder(t, pool);
});

test('calls of a key whose thread died run on one thread, in order, with the calls made after', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  t.teardown(() => pool.stop());
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const pinned = deferToThreadPool.with({ affinity: 'k' });
  // The key's thread dies while the rest of its calls wait for it: they
  // go back to the queue unbound, and those made after wait behind them.
  const dies = pinned(reactor, pool, exitThread, 1);
  const before = Array.from({ length: 20 }, (_, i) => pinned(reactor, pool, runOrder, i === 0 ? 50 : 0));
  await t.throwsAsync(dies);
  const after = Array.from({ length: 20 }, () => pinned(reactor, pool, runOrder, 0));
  await runsOneKeyInOrder(t, pool, [...before, ...after]);
});

test('when the bound thread exits, the key is bound to another thread', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const call = () => deferToThreadPool.with({ affinity: 7 })(reactor, pool, whereAmI);
  const before = (await call()).threadId;
  await t.throwsAsync(deferToThreadPool.with({ affinity: 7 })(reactor, pool, exitThread, 1));
  // Calls in flight together share the key's new thread. (A key with
  // nothing in flight is released, so calls made one after the other may
  // be bound anew, to the replacement thread once it is up.)
  const after = (await Promise.all([call(), call()])).map((w) => w.threadId);
  t.not(after[0], before);
  t.is(after[1], after[0]);
  await pool.stop();
});

test('a batch of one key\'s calls that runs long comes back to the key\'s thread while a sibling is idle, and a call of it cancelled meanwhile never runs', async (t) => {
  // The key's first call binds it to a thread and holds it; the rest queue
  // for that thread, which takes them together, whatever their functions.
  // One is cancelled while the first of them holds the thread at a gate:
  // the thread hands back what is left of the batch once it has run 2 ms,
  // to itself, not to the idle sibling, which would break the key's
  // promise; the cancelled call is dropped then.
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const pinned = deferToThreadPool.with({ affinity: 'long' });
  const hold = new Int32Array(new SharedArrayBuffer(8));
  const held = pinned(reactor, pool, waitForFlag, hold);
  t.true(await waitFor(() => Atomics.load(hold, 1) === 1), 'the key\'s thread is held');
  const ac = new AbortController();
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const calls = [pinned(reactor, pool, threadAfterGate, gate), ...Array.from({ length: 5 }, (_, i) =>
    i === 2 ? deferToThreadPool.with({ affinity: 'long', signal: ac.signal })(reactor, pool, spin, 30) : pinned(reactor, pool, spin, 30))];
  t.true(await waitFor(() => pool.queued === 6), 'they wait for the key\'s thread');
  Atomics.store(hold, 0, 1);
  Atomics.notify(hold, 0);
  await held;
  t.true(await waitFor(() => pool.queued === 0), 'the thread took them together');
  ac.abort();
  await t.throwsAsync(calls[3]!, { instanceOf: CancelledError });
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  const outcomes = await Promise.allSettled(calls);
  t.is(outcomes.filter((o) => o.status === 'rejected').length, 1);
  const ids = outcomes.flatMap((o) => o.status === 'fulfilled' ? [o.value] : []);
  t.is(new Set(ids).size, 1, `ran on threads ${ids.join(', ')}`);
  t.is(pool.stats().completed, 6, 'the held call and 5 of the batch ran; the cancelled one never did');
  await pool.stop();
});

test('affinity is validated', (t) => {
  t.throws(() => deferToThreadPool.with({ affinity: {} as never }), { instanceOf: TypeError, message: /affinity/ });
});

test('a key is unbound once no queued or running task uses it', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  t.teardown(() => pool.stop());
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const sums = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    deferToThreadPool.with({ affinity: `user-${i}` })(reactor, pool, add, i, 1)));
  t.is(sums[199], 200);
  t.is(pool.stats().affinityKeys, 0, 'every key was released when its last task completed');
  await pool.stop();
});

test('the keys of withdrawn calls are unbound; a running call keeps its key until it ends', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, concurrentTasksPerThread: 1 });
  // stop() also ends the blocker's wait, should an assertion fail before the gate opens.
  t.teardown(() => pool.stop());
  pool.start();
  t.true(await waitFor(() => pool.idle === 1));
  // The blocker waits on the reactor until `open` is called.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  const blocker = deferToThreadPool.with({ affinity: 'busy' })(reactor, pool, meet, () => gate);
  blocker.catch(() => undefined);  // awaited below; rejected by the teardown's stop() if an assertion fails first
  const ac = new AbortController();
  const withdrawn = Array.from({ length: 10 }, (_, i) =>
    deferToThreadPool.with({ affinity: `k${i}`, signal: ac.signal })(reactor, pool, add, i, i));
  ac.abort();
  for (const w of withdrawn) await t.throwsAsync(w);
  t.is(pool.stats().affinityKeys, 1, 'only the blocker\'s key is still bound');
  open();
  await blocker;
  t.is(pool.stats().affinityKeys, 0);
  await pool.stop();
});
