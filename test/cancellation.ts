// deferToThread.with({ signal }): a queued call is withdrawn, a running
// one settles at once; the options carrier validates what it is given.
import test from 'ava';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, deferToThread, deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add, appendLine, sleep } from './_fixtures/tasks.cjs';
import { waitFor } from './_helpers/wait.js';

test('an already aborted signal rejects with CancelledError and runs nothing', async (t) => {
  const err = await t.throwsAsync(deferToThread.with({ signal: AbortSignal.abort('no') })(add, 1, 2), { instanceOf: CancelledError });
  t.is((err as CancelledError).code, 'ERR_CANCELLED');
});

test('aborting a queued call removes it from the queue: it never runs', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
  pool.start();
  const file = join(mkdtempSync(join(tmpdir(), 'rt-cancel-')), 'log');
  const busy = deferToThreadPool(reactor, pool, sleep, 150);
  t.true(await waitFor(() => pool.busy === 1));
  const ac = new AbortController();
  const queued = deferToThreadPool.with({ signal: ac.signal })(reactor, pool, appendLine, file, 'ran');
  ac.abort();
  await t.throwsAsync(queued, { instanceOf: CancelledError });
  await busy;
  await deferToThreadPool(reactor, pool, add, 0, 0);
  t.false(existsSync(file) && readFileSync(file, 'utf8').includes('ran'));
  t.is(pool.queued, 0);
  await pool.stop();
});

test('aborting a running call rejects at once', async (t) => {
  const ac = new AbortController();
  const started = Date.now();
  const p = deferToThread.with({ signal: ac.signal })(sleep, 500);
  setTimeout(() => ac.abort(), 50);
  await t.throwsAsync(p, { instanceOf: CancelledError });
  t.true(Date.now() - started < 450);
});

test('with() validates its options', (t) => {
  t.throws(() => deferToThread.with({ signal: 'x' as never }), { instanceOf: TypeError, message: /signal/ });
  t.throws(() => deferToThread.with(null as never), { instanceOf: TypeError });
});
