// callInThread and callInThreadWithCallback: the four outcomes of f, each
// reaching onResult exactly once, where onResult runs and in which async
// context, where f runs, and where fire-and-forget errors go. Each count
// is read after stop() resolved, when nothing more can arrive.
import test from 'ava';
import { AsyncLocalStorage } from 'node:async_hooks';
import { threadId } from 'node:worker_threads';
import { ThreadPool, type TaskFunction } from 'reactor-threads';
import { add, addLater, fail, failLater, tellWhere } from './_fixtures/tasks.cjs';
import { Settlements, within } from './_helpers/settlements.js';

interface Call { ok: boolean; value: unknown; threadId: number }

/**
 * Runs `f(...args)` through callInThreadWithCallback on a pool of its own
 * and returns every call of onResult, read once the pool has stopped.
 */
async function onResultCalls(f: TaskFunction, ...args: unknown[]): Promise<Call[]> {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const calls: Call[] = [];
  let called!: () => void;
  const first = new Promise<void>((resolve) => { called = resolve; });
  pool.callInThreadWithCallback((ok, value) => { calls.push({ ok, value, threadId }); called(); },
    f as (...a: unknown[]) => unknown, ...args);
  await within(first, 10_000, 'callInThreadWithCallback', () => 'its onResult call');
  await within(pool.stop(), 10_000, 'stop()', () => `${pool.workers} threads`);
  return calls;
}

test('callInThreadWithCallback calls onResult(true, value) once, on the owner thread, when f returns', async (t) => {
  t.deepEqual(await onResultCalls(add, 2, 2), [{ ok: true, value: 4, threadId }]);
});

test('callInThreadWithCallback calls onResult(true, value) once when an async f resolves later', async (t) => {
  t.deepEqual(await onResultCalls(addLater, 20, 22), [{ ok: true, value: 42, threadId }]);
});

test('callInThreadWithCallback calls onResult(false, error) once when f throws', async (t) => {
  const calls = await onResultCalls(fail, 'nope');
  t.is(calls.length, 1);
  t.like(calls[0], { ok: false, threadId });
  t.true(calls[0]!.value instanceof TypeError);
  t.is((calls[0]!.value as Error).message, 'nope');
});

test('callInThreadWithCallback calls onResult(false, error) once when an async f rejects later', async (t) => {
  const calls = await onResultCalls(failLater, 'later');
  t.is(calls.length, 1);
  t.like(calls[0], { ok: false, threadId });
  t.true(calls[0]!.value instanceof RangeError);
  t.is((calls[0]!.value as Error).message, 'later');
});

test('1,000 concurrent tasks on a two-thread pool each call onResult exactly once, with their own value', async (t) => {
  // The pool's size is set here, not taken from the machine's CPU count.
  const pool = new ThreadPool({ maxThreads: 2 });
  pool.start();
  const tasks = new Settlements<'add'>();
  let mostWorkers = 0;
  for (let i = 0; i < 1000; i++) {
    const counted = tasks.add('add', (ok, v) => (ok && v === i ? undefined : `expected ${i}, ${ok ? 'got' : 'rejected with'} ${String(v)}`));
    pool.callInThreadWithCallback((ok, v) => { mostWorkers = Math.max(mostWorkers, pool.workers); counted(ok, v); }, add, i, 0);
  }
  await tasks.allSettled(30_000);
  await within(pool.stop(), 10_000, 'stop()', () => `${pool.workers} threads`);
  t.deepEqual(tasks.problems, []);
  t.is(tasks.settledOnce, 1000);
  t.is(pool.max, 2);
  t.true(mostWorkers <= pool.max, `${mostWorkers} threads ran at once`);
});

test('onResult runs in the async context of the call', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const als = new AsyncLocalStorage<string>();
  const seen = await new Promise<string | undefined>((resolve) => {
    als.run('request-42', () => pool.callInThreadWithCallback(() => resolve(als.getStore()), add, 1, 1));
  });
  t.is(seen, 'request-42');
  await pool.stop();
});

test('an awaited deferToThread continues in the caller\'s async context', async (t) => {
  const { deferToThread } = await import('reactor-threads');
  const als = new AsyncLocalStorage<number>();
  const seen = await als.run(7, async () => { await deferToThread(add, 1, 1); return als.getStore(); });
  t.is(seen, 7);
});

test('callInThread runs f on a pool thread, not the caller\'s, and reports its error once to error listeners', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const errors: unknown[] = [];
  pool.on('error', (e) => errors.push(e));
  const where = new Promise<{ threadId: number; io: boolean; mainThread: boolean }>((resolve) => {
    pool.callInThread(tellWhere, resolve);
  });
  const reported = new Promise<void>((resolve) => pool.once('error', () => resolve()));
  pool.callInThread(fail, 'reported');
  const ranAt = await within(where, 10_000, 'callInThread(tellWhere)', () => 'its call back to this thread');
  await within(reported, 10_000, 'callInThread(fail)', () => 'its error report');
  await within(pool.stop(), 10_000, 'stop()', () => `${pool.workers} threads`);
  t.not(ranAt.threadId, threadId, 'f ran on the calling thread');
  t.false(ranAt.io);
  t.false(ranAt.mainThread);
  t.is(errors.length, 1, String(errors));
  t.true(errors[0] instanceof TypeError, String(errors[0]));
  t.is((errors[0] as Error).message, 'reported');
});

test('an error thrown by onResult goes to the pool\'s error listeners', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const reported = new Promise<unknown>((resolve) => pool.once('error', resolve));
  pool.callInThreadWithCallback(() => { throw new EvalError('from onResult'); }, add, 1, 1);
  t.true((await reported) instanceof EvalError);
  await pool.stop();
});

test('callInThreadWithCallback throws a TypeError when onResult is not a function', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  t.throws(() => pool.callInThreadWithCallback(undefined as never, add, 1, 1), { instanceOf: TypeError });
  await pool.stop();
});
