// deferToThreadPool: a given ThreadPool, a user's own pool object, the
// reactor argument, and the per-call options each kind of pool receives,
// honours or refuses.
import test from 'ava';
import { getEventListeners } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelledError, deferToThread, deferToThreadPool, reactor, TaskTimeoutError, ThreadPool,
  type AnyFunction, type CallOptions, type OnResult, type Reactor, type TaskFunction, type ThreadPoolLike, type ThreadPoolWithOptions,
} from 'reactor-threads';
import { add, failLater, waitForAbort, whereAmI } from './_fixtures/tasks.cjs';
import { waitFor } from './_helpers/wait.js';

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

// Per-call options and the pools that receive them (DESIGN.md section 5:
// none is ever ignored in silence).

/** A pool of the user's own, without callInThreadWithOptions: it records its calls and answers each with `answer`. */
function plainPool(answer?: number): { pool: ThreadPoolLike; calls: number; held: OnResult<unknown>[] } {
  const mine = {
    calls: 0,
    held: [] as OnResult<unknown>[],
    pool: {
      callInThreadWithCallback(onResult: OnResult<unknown>): void {
        mine.calls++;
        if (answer === undefined) mine.held.push(onResult); else setImmediate(() => onResult(true, answer));
      },
    },
  };
  return mine;
}

/** A pool of the user's own with callInThreadWithOptions: it records what it received and lets the test answer. */
function optionsPool(): { pool: ThreadPoolWithOptions; received: unknown[]; held: OnResult<unknown>[]; plainCalls: number } {
  const mine = {
    received: [] as unknown[],
    held: [] as OnResult<unknown>[],
    plainCalls: 0,
    pool: {
      callInThreadWithCallback(): void { mine.plainCalls++; },
      callInThreadWithOptions(options: CallOptions, onResult: OnResult<unknown>, f: unknown, ...args: unknown[]): void {
        mine.received.push({ options, f, args });
        mine.held.push(onResult);
      },
    },
  };
  return mine;
}

test('a pool without callInThreadWithOptions refuses each option but signal with a TypeError naming it, and is not called', async (t) => {
  const mine = plainPool(1);
  const refused: [string, CallOptions][] = [
    ['queueTimeout', { queueTimeout: 100 }], ['runTimeout', { runTimeout: 100 }], ['affinity', { affinity: 'k' }],
    ['flattenInstances', { flattenInstances: true }], ['attempts', { attempts: 3 }], ['backoff', { backoff: 10 }],
    ['priority', { priority: 1 }],
  ];
  for (const [name, options] of refused) {
    await t.throwsAsync(deferToThreadPool.with(options)(reactor, mine.pool, add, 1, 2), {
      instanceOf: TypeError,
      message: `options.${name}: this pool cannot honour it (it has no callInThreadWithOptions() method to receive it)`,
    }, name);
  }
  t.is(mine.calls, 0, 'callInThreadWithCallback was never called');
});

test('a pool without callInThreadWithOptions names every option it cannot honour in one TypeError', async (t) => {
  const mine = plainPool(1);
  const options: CallOptions = { signal: new AbortController().signal, priority: 2, affinity: 'k', runTimeout: 50, callerStack: true };
  await t.throwsAsync(deferToThreadPool.with(options)(reactor, mine.pool, add, 1, 2), {
    instanceOf: TypeError,
    message: /^options\.runTimeout, options\.affinity, options\.priority: this pool cannot honour them/,
  });
  t.is(mine.calls, 0);
});

test('a pool without callInThreadWithOptions still takes a signal: its abort settles the call, and the pool\'s later answer is dropped', async (t) => {
  const mine = plainPool();
  const ac = new AbortController();
  const call = deferToThreadPool.with({ signal: ac.signal, callerStack: true })(reactor, mine.pool, add, 1, 2);
  t.is(mine.calls, 1);
  ac.abort('enough');
  const err = await t.throwsAsync(call, { instanceOf: CancelledError });
  t.is((err as CancelledError).cause, 'enough');
  t.notThrows(() => mine.held[0]!(true, 3));
  await t.throwsAsync(deferToThreadPool.with({ signal: AbortSignal.abort() })(reactor, mine.pool, add, 1, 2), { instanceOf: CancelledError });
  t.is(mine.calls, 1, 'a call whose signal had aborted was not made');
});

test('a pool with callInThreadWithOptions receives the call\'s options, all but callerStack, and its onResult settles the call', async (t) => {
  const mine = optionsPool();
  const { signal } = new AbortController();
  const given: CallOptions = {
    signal, queueTimeout: 1000, runTimeout: 50, affinity: 'k', flattenInstances: false, attempts: 3,
    backoff: { type: 'exponential', delay: 10 }, priority: 5,
  };
  const call = deferToThreadPool.with({ ...given, callerStack: true })(reactor, mine.pool, add, 1, 2);
  await Promise.resolve();
  t.is(mine.received.length, 1);
  t.deepEqual(mine.received[0], { options: given, f: add, args: [1, 2] });
  t.is((mine.received[0] as { options: CallOptions }).options.signal, signal);
  t.is(getEventListeners(signal, 'abort').length, 0, 'the signal is the pool\'s to watch');
  mine.held[0]!(true, 3);
  t.is(await call, 3);
  const failing = deferToThreadPool.with({ priority: 1 })(reactor, mine.pool, add, 1, 2);
  mine.held[1]!(false, new URIError('remote failed'));
  await t.throwsAsync(failing, { instanceOf: URIError, message: 'remote failed' });
  t.deepEqual((mine.received[1] as { options: CallOptions }).options, { priority: 1 });
  t.is(mine.plainCalls, 0, 'callInThreadWithCallback was not called');
});

test('a call without options goes to callInThreadWithCallback, even on a pool with callInThreadWithOptions', async (t) => {
  const mine = optionsPool();
  mine.pool.callInThreadWithCallback = (onResult: OnResult<unknown>): void => { mine.plainCalls++; onResult(true, 'plain'); };
  t.is(await deferToThreadPool(reactor, mine.pool, add, 1, 2) as unknown, 'plain');
  t.deepEqual([mine.plainCalls, mine.received.length], [1, 0]);
});

test('what callInThreadWithOptions throws synchronously rejects the call', async (t) => {
  const refusal = new TypeError('options.priority: mine cannot honour it');
  const refusing = {
    callInThreadWithCallback(): void { t.fail('callInThreadWithCallback was called'); },
    callInThreadWithOptions(): void { throw refusal; },
  };
  const err = await t.throwsAsync(deferToThreadPool.with({ priority: 1 })(reactor, refusing, add, 1, 2));
  t.is(err, refusal);
});

test('a pool\'s second onResult is ignored: the first settles the call', async (t) => {
  const mine = optionsPool();
  const resolved = deferToThreadPool.with({ attempts: 2 })(reactor, mine.pool, add, 1, 2);
  const rejected = deferToThreadPool.with({ attempts: 2 })(reactor, mine.pool, add, 1, 2);
  const [first, second] = mine.held;
  first!(true, 'first');
  t.notThrows(() => first!(false, new Error('second')));
  t.notThrows(() => first!(true, 'third'));
  second!(false, new RangeError('first'));
  t.notThrows(() => second!(true, 'second'));
  t.is(await resolved as unknown, 'first');
  await t.throwsAsync(rejected, { instanceOf: RangeError, message: 'first' });
});

test('a ThreadPool refuses attempts, backoff and priority with one TypeError naming them; nothing is queued', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  await t.throwsAsync(deferToThreadPool.with({ attempts: 2, priority: 1 })(reactor, pool, add, 1, 2), {
    instanceOf: TypeError, message: /^options\.attempts, options\.priority: a ThreadPool cannot honour them/,
  });
  await t.throwsAsync(deferToThreadPool.with({ backoff: { type: 'fixed', delay: 5 }, signal: new AbortController().signal })(
    reactor, pool, add, 1, 2), {
    instanceOf: TypeError, message: /^options\.backoff: a ThreadPool cannot honour it \(a remote pool such as reactor-threads\/bullmq's can\)$/,
  });
  await t.throwsAsync(deferToThread.with({ priority: 3, callerStack: true })(add, 1, 2), { instanceOf: TypeError, message: /^options\.priority: / });
  t.throws(() => pool.callInThreadWithOptions({ backoff: 5, attempts: 2 }, () => t.fail('onResult was called'), add, 1, 2), {
    instanceOf: TypeError, message: /^options\.attempts, options\.backoff: a ThreadPool cannot honour them/,
  });
  t.throws(() => pool.callInThreadWithOptions({ callerStack: true } as CallOptions, () => t.fail('onResult was called'), add, 1, 2), {
    instanceOf: TypeError, message: /^options\.callerStack: a pool cannot honour it/,
  });
  t.is(pool.stats().submitted, 0);
  await pool.stop();
});

/** Calls pool.callInThreadWithOptions; resolves with its first outcome, and counts its calls of onResult. */
function withOptions<F extends AnyFunction>(pool: ThreadPool, options: CallOptions, f: TaskFunction<F>, ...args: Parameters<F>) {
  const outcome = { calls: 0, done: undefined as unknown as Promise<{ ok: boolean; value: unknown }> };
  outcome.done = new Promise((resolve) => {
    pool.callInThreadWithOptions(options, (ok: boolean, value?: unknown) => { outcome.calls++; resolve({ ok, value }); }, f, ...args);
  });
  return outcome;
}

test('ThreadPool.callInThreadWithOptions honours runTimeout: a task that runs too long gets a TaskTimeoutError', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  const file = join(mkdtempSync(join(tmpdir(), 'rt-options-')), 'log');
  // (The module loaded first: the run timeout counts from the take.)
  await deferToThreadPool(reactor, pool, add, 0, 0);
  const call = withOptions(pool, { runTimeout: 100 }, waitForAbort, file);
  const { ok, value } = await call.done;
  t.false(ok);
  t.true(value instanceof TaskTimeoutError);
  t.is((value as TaskTimeoutError).phase, 'run');
  t.true(await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('aborted')), 'the task\'s signal aborted');
  t.is(call.calls, 1);
  const quick = withOptions(pool, { runTimeout: 10_000, queueTimeout: 10_000 }, add, 2, 3);
  t.deepEqual(await quick.done, { ok: true, value: 5 });
  await pool.stop();
});

test('ThreadPool.callInThreadWithOptions honours affinity: calls with one key run on one thread', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  t.true(await waitFor(() => pool.idle === 2));
  const calls = (key: string) => Array.from({ length: 10 }, () => withOptions(pool, { affinity: key }, whereAmI).done);
  const [a, b] = await Promise.all([Promise.all(calls('one')), Promise.all(calls('two'))]);
  const threadsOf = (outcomes: { ok: boolean; value: unknown }[]) => new Set(outcomes.map(({ value }) => (value as { threadId: number }).threadId));
  t.true([...a, ...b].every(({ ok }) => ok));
  t.is(threadsOf(a).size, 1);
  t.is(threadsOf(b).size, 1);
  t.not([...threadsOf(a)][0], [...threadsOf(b)][0], 'the second key went to the idle thread');
  await pool.stop();
});

test('ThreadPool.callInThreadWithOptions honours a signal: a queued call it aborts settles with a CancelledError and never runs', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  const ac = new AbortController();
  const call = withOptions(pool, { signal: ac.signal }, add, 1, 2);
  const already = withOptions(pool, { signal: AbortSignal.abort() }, add, 1, 2);
  ac.abort();
  for (const c of [call, already]) {
    const { ok, value } = await c.done;
    t.false(ok);
    t.true(value instanceof CancelledError);
  }
  pool.start();
  t.is(await deferToThreadPool(reactor, pool, add, 0, 0), 0);
  t.is(pool.stats().completed, 1, 'only the last call ran');
  t.deepEqual([call.calls, already.calls], [1, 1]);
  await pool.stop();
});

test('queueTimeout and runTimeout longer than Node\'s timers hold (2 ** 31 - 1 ms) are refused by .with() and callInThreadWithOptions', (t) => {
  // (Node turns setTimeout(f, 3e9) into 1 ms: a queueTimeout of 3e9 rejected at once, a runTimeout of 3e9
  // re-armed a 1 ms timer in a loop, printing a TimeoutOverflowWarning each time.)
  const pool = new ThreadPool({ maxThreads: 1 });
  for (const options of [{ queueTimeout: 3e9 }, { runTimeout: 2_147_483_648 }, { runTimeout: Infinity }, { queueTimeout: 0 }]) {
    const message = /must be a number of milliseconds > 0 and at most 2147483647 \(Node's timers hold no more\)/;
    t.throws(() => deferToThreadPool.with(options), { instanceOf: RangeError, message }, JSON.stringify(options));
    t.throws(() => deferToThread.with(options), { instanceOf: RangeError, message }, JSON.stringify(options));
    t.throws(() => pool.callInThreadWithOptions(options, () => {}, add, 1, 1), { instanceOf: RangeError, message },
      JSON.stringify(options));
  }
  t.notThrows(() => deferToThreadPool.with({ queueTimeout: 2_147_483_647, runTimeout: 2_147_483_647 }));
});

test('attempts, backoff and priority are validated by .with()', (t) => {
  const bad: [CallOptions, ErrorConstructor, RegExp][] = [
    [{ attempts: 0 }, RangeError, /options\.attempts must be an integer >= 1/],
    [{ attempts: 1.5 }, RangeError, /options\.attempts/],
    [{ attempts: '2' as never }, TypeError, /options\.attempts must be a number/],
    [{ backoff: -1 }, RangeError, /options\.backoff must be a finite number of milliseconds >= 0/],
    [{ backoff: Infinity }, RangeError, /options\.backoff/],
    [{ backoff: 'fixed' as never }, TypeError, /options\.backoff must be a number of milliseconds or \{ type, delay \}/],
    [{ backoff: { type: 'linear' as never, delay: 5 } }, TypeError, /options\.backoff\.type must be 'fixed' or 'exponential'/],
    [{ backoff: { type: 'fixed', delay: -5 } }, RangeError, /options\.backoff\.delay/],
    [{ backoff: { type: 'exponential' } as never }, RangeError, /options\.backoff\.delay/],
    [{ priority: -1 }, RangeError, /options\.priority must be an integer from 0 to 2097152/],
    [{ priority: 2_097_153 }, RangeError, /options\.priority/],
    [{ priority: 0.5 }, RangeError, /options\.priority/],
    [{ priority: '1' as never }, TypeError, /options\.priority must be a number/],
  ];
  for (const [options, instanceOf, message] of bad) {
    t.throws(() => deferToThreadPool.with(options), { instanceOf, message }, JSON.stringify(options));
    t.throws(() => deferToThread.with(options), { instanceOf, message }, JSON.stringify(options));
  }
  for (const options of [{ attempts: 1 }, { backoff: 0 }, { backoff: { type: 'fixed', delay: 0 } }, { priority: 0 }, { priority: 2_097_152 }] as CallOptions[]) {
    t.notThrows(() => deferToThreadPool.with(options), JSON.stringify(options));
  }
});
