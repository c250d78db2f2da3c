// A pool thread never freezes its own async work while it waits for the
// next task (piscina #316): its timers and unawaited promises keep going.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { leaveTimerBehind, readTicks, readTimerFired, sleepSpan, startTicking } from './_fixtures/tasks.cjs';

const idle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a thread\'s timers keep firing while it is idle', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  const thread = await deferToThreadPool(reactor, pool, startTicking);
  const before = await deferToThreadPool(reactor, pool, readTicks);
  await idle(200);
  const after = await deferToThreadPool(reactor, pool, readTicks);
  t.is(after.threadId, thread);
  t.true(after.ticks - before.ticks >= 10, `only ${after.ticks - before.ticks} ticks in 200 ms`);
  await pool.stop();
});

test('an unawaited promise of an earlier task settles while the thread is idle', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  const thread = await deferToThreadPool(reactor, pool, leaveTimerBehind);
  await idle(150);
  const after = await deferToThreadPool(reactor, pool, readTimerFired);
  t.is(after.threadId, thread);
  t.true(after.fired);
  await pool.stop();
});

test('several async tasks run at once on one thread', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 4 });
  pool.start();
  const spans = await Promise.all(Array.from({ length: 4 }, () => deferToThreadPool(reactor, pool, sleepSpan, 100)));
  t.is(new Set(spans.map((s) => s.threadId)).size, 1);
  // Every task started before any of them ended: they were in flight together.
  t.true(Math.max(...spans.map((s) => s.start)) < Math.min(...spans.map((s) => s.end)));
  await pool.stop();
});
