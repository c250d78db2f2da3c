// deferToThreadPool: a given ThreadPool, a user's own pool object, and the
// reactor argument.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool, type OnResult, type Reactor } from 'reactor-threads';
import { add, failLater, whereAmI } from './_fixtures/tasks.cjs';

test('deferToThreadPool runs f on the pool it is given', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, name: 'given' });
  pool.start();
  t.is(await deferToThreadPool(reactor, pool, add, 1, 2), 3);
  t.is(pool.workers, 1);
  await t.throwsAsync(deferToThreadPool(reactor, pool, failLater, 'x'), { instanceOf: RangeError });
  await pool.stop();
});

test('deferToThreadPool accepts any object with callInThreadWithCallback', async (t) => {
  const calls: string[] = [];
  const mine = {
    callInThreadWithCallback(onResult: OnResult<unknown>, f: unknown, ...args: unknown[]): void {
      calls.push(typeof f);
      setImmediate(() => onResult(true, (args as number[]).reduce((a, b) => a + b, 0)));
    },
  };
  t.is(await deferToThreadPool(reactor, mine, add, 4, 5), 9);
  t.deepEqual(calls, ['function']);
  const failing = {
    callInThreadWithCallback(onResult: OnResult<unknown>): void { onResult(false, new URIError('mine failed')); },
  };
  await t.throwsAsync(deferToThreadPool(reactor, failing, add, 1, 1), { instanceOf: URIError });
});

test('deferToThreadPool rejects an object that is not a pool, without throwing', async (t) => {
  const p = deferToThreadPool(reactor, {} as never, add, 1, 2);
  await t.throwsAsync(p, { instanceOf: TypeError, message: /callInThreadWithCallback/ });
});

test('deferToThreadPool rejects a reactor that is not this package\'s', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  const fake = { ...reactor } as Reactor;
  await t.throwsAsync(deferToThreadPool(fake, pool, add, 1, 2), { instanceOf: TypeError, message: /reactor/ });
  await pool.stop();
});

test('work queued on a pool before start() runs once it starts', async (t) => {
  const pool = new ThreadPool({ maxThreads: 2 });
  const results = [deferToThreadPool(reactor, pool, add, 1, 1), deferToThreadPool(reactor, pool, whereAmI)] as const;
  t.is(pool.queued, 2);
  t.is(pool.workers, 0);
  pool.start();
  const [sum, where] = await Promise.all(results);
  t.is(sum, 2);
  t.false(where.io);
  await pool.stop();
});
