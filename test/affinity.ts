// Affinity: calls with the same key run on the same thread while it lives.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { exitThread, whereAmI } from './_fixtures/tasks.cjs';
import { waitFor } from './_helpers/wait.js';

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

test('when the bound thread exits, the key is bound to another thread', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const call = () => deferToThreadPool.with({ affinity: 7 })(reactor, pool, whereAmI);
  const before = (await call()).threadId;
  await t.throwsAsync(deferToThreadPool.with({ affinity: 7 })(reactor, pool, exitThread, 1));
  const after = (await call()).threadId;
  t.not(after, before);
  t.is((await call()).threadId, after);
  await pool.stop();
});

test('affinity is validated', (t) => {
  t.throws(() => deferToThreadPool.with({ affinity: {} as never }), { instanceOf: TypeError, message: /affinity/ });
});
