// A pool thread's results wait for its console output, but never hold up
// what the thread does next: a blocking call sees everything the thread
// sent before it, a finished task keeps its result if its thread dies, and
// a task handed back before a park reaches another thread.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deferToThreadPool, PoolStarvedError, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import {
  awaitPromiseNamed, echo, postThenRead, printAndReturn, recordPrintAndReturn, recordThenExit,
} from './_fixtures/outbox-tasks.cjs';
import { busyOneThreadPool } from './_helpers/busy-pool.js';

/** `p`, or a rejection naming what is still pending after `ms`. */
function within<T>(p: Promise<T>, ms: number, pending: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms: ${pending}`)), ms).unref())]);
}

const globals = globalThis as { outboxFlag?: boolean; outboxPromises?: Record<string, Promise<unknown>> };
/** Promises the reactor keeps by name, for tasks that wait on them (tests run side by side: one shared table). */
const promises = (globals.outboxPromises ??= {});

test.serial('a blocking call from a pool thread sees the calls the thread posted before it, while a result waits for stdio', async (t) => {
  for (let i = 0; i < 5; i++) {
    globals.outboxFlag = false;
    const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
    const printed = deferToThreadPool(reactor, pool, printAndReturn, `run ${i}`);
    const saw = deferToThreadPool(reactor, pool, postThenRead);
    pool.start();
    t.true(await within(saw, 10_000, 'the blocking call'), `run ${i}: the blocking call ran before the call posted ahead of it`);
    t.is(await printed, `run ${i}`);
    await pool.stop();
  }
});

test.serial('a task that waits through the reactor for an earlier task of its own thread does not deadlock', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  const first = deferToThreadPool(reactor, pool, printAndReturn, 'first');
  promises.first = first;
  const second = deferToThreadPool(reactor, pool, awaitPromiseNamed, 'first');
  pool.start();
  t.is(await within(second, 10_000, 'the task waiting for the first one\'s result'), 'first');
  await pool.stop();
});

test('a task that finished before its thread died keeps its result; the task that ended the thread dies, once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rt-outbox-'));
  const [fileA, fileB] = [join(dir, 'a'), join(dir, 'b')];
  writeFileSync(fileA, '');
  writeFileSync(fileB, '');
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  const a = deferToThreadPool(reactor, pool, recordPrintAndReturn, fileA, 'A');
  const b = deferToThreadPool(reactor, pool, recordThenExit, fileB);
  pool.start();
  t.is(await a, 'A');
  const died = await t.throwsAsync(b, { instanceOf: ThreadDiedError });
  t.is((died as ThreadDiedError).exitCode, 3);
  t.is(readFileSync(fileA, 'utf8'), 'ran\n');
  t.is(readFileSync(fileB, 'utf8'), 'ran\n', 'the task that ended its thread was not run again');
  t.is(pool.stats().threadsDied, 1);
  await pool.stop();
});

test('a task handed back by a thread about to park runs on another thread', async (t) => {
  const { pool, pinned, busy } = await busyOneThreadPool();
  const waiting = pinned(reactor, pool, awaitPromiseNamed, 'handedBack');
  promises.handedBack = pinned(reactor, pool, echo, 'handed back');
  // The thread takes both; the first parks and hands the second back.
  await busy;
  pool.adjustPoolsize(1, 2);
  t.is(await within(waiting, 10_000, 'the parked task'), 'handed back');
  t.is(pool.workers, 2, 'a second thread was started for the handed-back task');
  await pool.stop();
});

test('a task handed back with no thread free ends the park with PoolStarvedError', async (t) => {
  const { pool, pinned } = await busyOneThreadPool({ starvationTimeout: 200 });
  pool.on('error', () => { /* the starvation report; the call's rejection is what is checked */ });
  const waiting = pinned(reactor, pool, awaitPromiseNamed, 'starved');
  promises.starved = pinned(reactor, pool, echo, 'never first');
  await t.throwsAsync(within(waiting, 10_000, 'the parked task'), { instanceOf: PoolStarvedError });
  t.is(await within(promises.starved as Promise<string>, 10_000, 'the handed-back task'), 'never first');
  await pool.stop();
});
