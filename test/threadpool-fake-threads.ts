// The pool's JS logic (thread lifecycle, respawn, timers, settlement) with
// hand-stepped fake threads and a fake clock (test/_helpers/fake-threads.ts)
// on the real native queue: each step is taken by the test, so nothing
// here sleeps or depends on timing. Every outcome is counted through a
// callback that would see a second settle.
import test from 'ava';
import {
  CancelledError, PoolStoppedError, TaskTimeoutError, ThreadDiedError, type OnResult, type ThreadPoolOptions,
} from 'reactor-threads';
// The class itself, with its internal members and collaborators (the
// package exports it under its public type, which has neither).
import { kAbort, kCancel, kFlush, kSubmit, kTimeouts, ThreadPool, type TaskSink } from '../dist/pool/threadpool.js';
import { add } from './_fixtures/tasks.cjs';
import { FakeClock, FakeThreads } from './_helpers/fake-threads.js';
import { describeOutcome, within } from './_helpers/settlements.js';

/** Every settle of one task, in order: a second one would show here. */
class Outcomes {
  readonly calls: [boolean, unknown][] = [];
  #waiters: (() => void)[] = [];
  readonly onResult: OnResult<unknown> = (ok, value) => {
    this.calls.push([ok, value]);
    for (const w of this.#waiters.splice(0)) w();
  };
  readonly sink: TaskSink = { settle: this.onResult };

  constructor(readonly what: string) {}

  /** The first settle, awaited (its result comes on a wake-up), bounded with a message. */
  async first(): Promise<[boolean, unknown]> {
    if (this.calls.length === 0) {
      await within(new Promise<void>((resolve) => this.#waiters.push(resolve)), 10_000,
        `waiting for ${this.what} to settle`, () => this.what);
    }
    return this.calls[0]!;
  }

  /** The one settle so far; throws (naming them) if there were none or several. */
  single(): [boolean, unknown] {
    if (this.calls.length !== 1) {
      throw new Error(`${this.what} settled ${this.calls.length} times: ${this.calls.map(([ok, v]) => describeOutcome(ok, v)).join('; ')}`);
    }
    return this.calls[0]!;
  }
}

function fakePool(options: ThreadPoolOptions): { pool: ThreadPool; threads: FakeThreads; clock: FakeClock } {
  const threads = new FakeThreads();
  const clock = new FakeClock();
  const pool = new ThreadPool(options, { startThread: threads.start, clock });
  threads.pool = pool as unknown as FakeThreads['pool'];
  return { pool, threads, clock };
}

/** stop(), with each live thread stepped to see the stop and exit; resolves once stop() has. */
async function stopAll(pool: ThreadPool, threads: FakeThreads): Promise<void> {
  const stopped = pool.stop();
  for (const thread of threads.live) {
    if (thread.take() !== 'stopping') throw new Error(`thread ${thread.threadId} was not told to stop`);
    thread.exit(0);
  }
  await within(stopped, 10_000, 'stop()', () => `${pool.workers} threads`);
}

test('a thread that dies mid-task fails that task with ThreadDiedError, and its untaken tasks run on the replacement', async (t) => {
  const { pool, threads } = fakePool({ maxThreads: 1 });
  const running = new Outcomes('the running task');
  const waiting = new Outcomes('the task taken but not started');
  pool.callInThreadWithCallback(running.onResult, add, 1, 2);
  pool.callInThreadWithCallback(waiting.onResult, add, 3, 4);
  pool.start();
  const first = threads.last.attach();
  t.deepEqual(first.takeTasks(2).map((task) => task.args), [[1, 2], [3, 4]]);
  const crash = new Error('the thread crashed');
  first.die(crash);

  const [ok, err] = running.single();
  t.false(ok);
  t.true(err instanceof ThreadDiedError, describeOutcome(ok, err));
  t.is((err as ThreadDiedError).cause, crash);
  t.is(waiting.calls.length, 0, 'the task it had not started waits for another thread');
  t.is(threads.all.length, 2, 'a replacement was started for it');
  const second = threads.last.attach();
  const [task] = second.takeTasks();
  t.deepEqual(task!.args, [3, 4]);
  second.complete(task!.id, 7);
  t.deepEqual(await waiting.first(), [true, 7]);
  t.is(pool.stats().threadsDied, 1);

  await stopAll(pool, threads);
  running.single();
  waiting.single();
});

test('threads that die three times in a row while starting fail the queued tasks, and no fourth is started', async (t) => {
  const { pool, threads } = fakePool({ maxThreads: 1 });
  const call = new Outcomes('the queued task');
  pool.callInThreadWithCallback(call.onResult, add, 1, 2);
  pool.start();
  for (let i = 1; i <= 3; i++) {
    t.is(threads.all.length, i);
    t.is(call.calls.length, 0, `still queued after ${i - 1} failed starts`);
    threads.last.die(new Error(`preload failed (${i})`));
  }
  const [ok, err] = call.single();
  t.false(ok);
  t.true(err instanceof ThreadDiedError, describeOutcome(ok, err));
  t.regex((err as Error).message, /no pool thread could start/);
  t.is(((err as Error).cause as Error).message, 'preload failed (3)');
  t.is(threads.all.length, 3, 'no endless respawn');
  t.is(pool.workers, 0);
  t.is(pool.queued, 0);
  await stopAll(pool, threads);
});

test('a pool with a floor stops restarting threads that keep dying while starting', async (t) => {
  const { pool, threads } = fakePool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  for (let i = 1; i <= 3; i++) threads.last.exit(1);
  t.is(threads.all.length, 3, 'no respawn for the floor after three failed starts');
  t.is(pool.workers, 0);
  // New work tries again; a thread that starts serves it.
  const call = new Outcomes('work submitted after the failed starts');
  pool.callInThreadWithCallback(call.onResult, add, 2, 3);
  t.is(threads.all.length, 4);
  const thread = threads.last.attach();
  const [task] = thread.takeTasks();
  thread.complete(task!.id, 5);
  t.deepEqual(await call.first(), [true, 5]);
  // A thread attached: the floor is kept again.
  thread.exit(1);
  t.is(threads.all.length, 5);
  threads.last.attach();
  await stopAll(pool, threads);
  call.single();
});

test('after three failed starts, a task whose new thread also dies while starting fails at once', async (t) => {
  const { pool, threads } = fakePool({ maxThreads: 1 });
  pool.start();
  const first = new Outcomes('the task queued during the failed starts');
  pool.callInThreadWithCallback(first.onResult, add, 1, 2);
  for (let i = 1; i <= 3; i++) threads.last.exit(1);
  t.true(first.single()[1] instanceof ThreadDiedError);
  const later = new Outcomes('a task submitted after them');
  pool.callInThreadWithCallback(later.onResult, add, 3, 4);
  t.is(threads.all.length, 4, 'new work tries a thread');
  threads.last.exit(1);
  const [ok, err] = later.single();
  t.false(ok);
  t.regex((err as Error).message, /no pool thread could start/);
  t.is(threads.all.length, 4, 'and only one');
  await stopAll(pool, threads);
});


test('start() gives up at the first thread Node refuses to create, failing the queued tasks with its error', async (t) => {
  const { pool, threads } = fakePool({ minThreads: 1, maxThreads: 2 });
  const call = new Outcomes('the task queued before start()');
  pool.callInThreadWithCallback(call.onResult, add, 1, 2);
  const refusal = new TypeError('invalid execArgv');
  // A pool that kept trying would be stopped by the fake's 1000th start succeeding.
  threads.refuseNext(1000, refusal);
  pool.start();
  t.is(threads.refused, 1, 'start() gave up at the first refusal');
  t.is(threads.all.length, 0);
  const [ok, err] = call.single();
  t.false(ok);
  t.true(err instanceof ThreadDiedError, describeOutcome(ok, err));
  t.is((err as Error).cause, refusal);
  await stopAll(pool, threads);
});

test.serial('calls that wait for a pool never started get one process warning that says so; none once it starts', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => { if ((w as Error & { code?: string }).code === 'REACTOR_THREADS_POOL_NOT_STARTED') warnings.push(w); };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const { pool, clock } = fakePool({ maxThreads: 1, name: 'images' });
  const call = new Outcomes('a call made before start()');
  pool[kSubmit](add, [1, 2], call.sink);
  pool[kSubmit](add, [3, 4], call.sink);
  clock.advance(4_999);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(warnings.length, 0);
  clock.advance(1);
  await within(new Promise<void>((resolve) => { const check = (): void => { if (warnings.length > 0) resolve(); else setImmediate(check); }; check(); }),
    2_000, 'the warning', () => 'none');
  t.is(warnings.length, 1);
  t.regex(warnings[0]!.message, /^2 call\(s\) have waited 5 s for ThreadPool 'images', which was never started: call pool\.start\(\)/);
  await pool.stop();
  t.is(clock.pending, 0, 'no timer left behind');
  // A first call that settled before the 5 s leaves the next one to arm it.
  const again = fakePool({ maxThreads: 1, name: 'again' });
  const first = again.pool[kSubmit](add, [1, 2], new Outcomes('a call withdrawn').sink);
  again.pool[kCancel](first, new Error('withdrawn'));
  again.clock.advance(5_000);
  again.pool[kSubmit](add, [1, 2], new Outcomes('a later call').sink);
  again.clock.advance(5_000);
  await within(new Promise<void>((resolve) => { const check = (): void => { if (warnings.length > 1) resolve(); else setImmediate(check); }; check(); }),
    2_000, 'the second pool\'s warning', () => 'none');
  t.regex(warnings[1]!.message, /^1 call\(s\) have waited 5 s for ThreadPool 'again'/);
  await again.pool.stop();
  const started = fakePool({ maxThreads: 1 });
  started.pool[kSubmit](add, [1, 2], new Outcomes('a call made before start()').sink);
  started.pool.start();
  t.is(started.clock.pending, 0, 'start() clears it');
  await stopAll(started.pool, started.threads);
});

// (jest's jsdom environment, say: a timer is a number, with no unref().)
test.serial('calls before start() are taken where the global setTimeout returns a number', async (t) => {
  const real = globalThis.setTimeout;
  const handles: unknown[] = [];
  globalThis.setTimeout = ((f: () => void, ms: number) => { handles.push(real(f, ms)); return handles.length; }) as unknown as typeof setTimeout;
  let pool: ThreadPool;
  try {
    pool = new ThreadPool({ maxThreads: 1 });
    const call = new Outcomes('a call before start()');
    pool[kSubmit](add, [1, 2], call.sink);
    await new Promise((resolve) => setImmediate(resolve));
    t.is(call.calls.length, 0, 'it waits for start()');
  } finally {
    globalThis.setTimeout = real;
  }
  for (const h of handles) clearTimeout(h as NodeJS.Timeout);
  await pool.stop();
});

test('runTimeout fires from the clock once the task is taken, and settles it exactly once', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1, cancelGrace: Infinity });
  pool.start();
  const call = new Outcomes('the task with a run timeout');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  pool[kTimeouts](id, undefined, 60_000);
  clock.advance(120_000);
  t.is(call.calls.length, 0, 'a queued task\'s run clock has not started');
  const thread = threads.last.attach();
  const [task] = thread.takeTasks();
  clock.advance(10);
  t.is(call.calls.length, 0, 'not before its runTimeout');
  clock.advance(60_000);
  const [ok, err] = call.single();
  t.false(ok);
  t.true(err instanceof TaskTimeoutError, describeOutcome(ok, err));
  t.is((err as TaskTimeoutError).phase, 'run');
  // The thread finishes the task later: that result must not settle it again.
  thread.complete(task!.id, 3);
  clock.advance(120_000);
  t.is(clock.pending, 0, 'no timer left behind');
  await stopAll(pool, threads);  // delivers whatever is still in the inbox
  call.single();
  t.is(pool.stats().cancelled, 1);
  t.is(thread.terminations, 0, 'cancelGrace Infinity: never terminated');
});

test('cancelGrace terminates a thread whose task ignores its cancel, and a new thread runs the queued work', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1, cancelGrace: 500 });
  const stubborn = new Outcomes('the cancelled task');
  const next = new Outcomes('the task queued behind it');
  const id = pool[kSubmit](add, [1, 2], stubborn.sink);
  pool[kSubmit](add, [3, 4], next.sink);
  pool.start();
  const first = threads.last.attach();
  first.takeTasks(1);
  pool[kCancel](id, new CancelledError('the caller gave up'));
  const [ok, err] = stubborn.single();
  t.false(ok);
  t.true(err instanceof CancelledError, describeOutcome(ok, err));
  clock.advance(499);
  t.is(first.terminations, 0, 'not within cancelGrace');
  clock.advance(1);
  t.is(first.terminations, 1, 'terminated once cancelGrace passed');
  first.exit(1);  // what a terminated Worker reports
  stubborn.single();
  t.is(pool.stats().threadsDied, 1);
  t.is(threads.all.length, 2, 'replaced, for the queued task');
  const second = threads.last.attach();
  const [task] = second.takeTasks();
  t.deepEqual(task!.args, [3, 4]);
  second.complete(task!.id, 7);
  t.deepEqual(await next.first(), [true, 7]);
  await stopAll(pool, threads);
  stubborn.single();
  next.single();
});

test('a cancelled task its thread hands back is dropped: no other thread runs it, and no thread is terminated for it', async (t) => {
  const { pool, threads, clock } = fakePool({ minThreads: 2, maxThreads: 2, cancelGrace: 500 });
  pool.start();
  const call = new Outcomes('the cancelled task');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  const [parker, other] = [threads.all[0]!.attach(), threads.all[1]!.attach()];
  const [task] = parker.takeTasks();
  pool[kCancel](id, new CancelledError('the caller gave up'));
  const [ok, err] = call.single();
  t.false(ok);
  t.true(err instanceof CancelledError, describeOutcome(ok, err));
  // The cancel has not reached the thread: it parks and hands the task back.
  parker.handBack(task!);
  t.is(other.take(), 'none', 'no thread takes a task whose caller gave up');
  clock.advance(500);
  t.is(parker.terminations, 0, 'the parked thread is not terminated for a task it no longer holds');
  t.is(pool.queued, 0);
  await stopAll(pool, threads);
  call.single();
});

test('tasks a thread hands back together go back in take order, and a cancelled one among them is dropped', async (t) => {
  const { pool, threads } = fakePool({ minThreads: 2, maxThreads: 2 });
  pool.start();
  const calls = [1, 2, 3].map((i) => new Outcomes(`task ${i}`));
  const ids = calls.map((call, i) => pool[kSubmit](add, [i, 10], call.sink));
  const [parker, other] = [threads.all[0]!.attach(), threads.all[1]!.attach()];
  const taken = parker.takeTasks(3);
  t.is(taken.length, 3);
  pool[kCancel](ids[1]!, new CancelledError('the caller gave up'));
  parker.handBack(...taken);
  const again = other.takeTasks(2);
  t.deepEqual(again.map((task) => task.args), [[0, 10], [2, 10]], 'the first and the third, in that order');
  t.is(other.take(), 'none', 'the cancelled one is not run');
  for (const task of again) other.complete(task.id, (task.args[0] as number) + 10);
  t.deepEqual(await calls[0]!.first(), [true, 10]);
  t.deepEqual(await calls[2]!.first(), [true, 12]);
  t.true(calls[1]!.single()[1] instanceof CancelledError);
  await stopAll(pool, threads);
  calls[0]!.single();
  calls[2]!.single();
});

test('a cancelled task that settles within cancelGrace keeps its thread', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1, cancelGrace: 500 });
  pool.start();
  const call = new Outcomes('the cancelled task');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  const thread = threads.last.attach();
  const [task] = thread.takeTasks();
  pool[kCancel](id, new CancelledError('the caller gave up'));
  thread.fail(task!.id, new CancelledError('aborted'));
  clock.advance(500);
  t.is(thread.terminations, 0);
  await stopAll(pool, threads);
  t.true(call.single()[1] instanceof CancelledError);
  t.is(pool.stats().threadsDied, 0);
});

// (serveBullMQ's earlier run of a job its worker took again: the later run may share the thread.)
test('an abort by the signal alone leaves a running task to end by itself: it settles with its answer, and neither cancelGrace nor its run timeout ends its thread', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1, cancelGrace: 500 });
  pool.start();
  const call = new Outcomes('the aborted task');
  const queued = new Outcomes('the aborted task still queued');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  pool[kTimeouts](id, undefined, 1000);
  const thread = threads.last.attach();
  const [task] = thread.takeTasks();
  const queuedId = pool[kSubmit](add, [3, 4], queued.sink);
  pool[kFlush]();
  pool[kAbort](id, new CancelledError('taken again'));
  pool[kAbort](queuedId, new CancelledError('taken again'));
  const [ok, err] = queued.single();
  t.true(!ok && err instanceof CancelledError, 'a queued one is withdrawn, as by a cancel');
  t.is(thread.take(), 'none', 'and never runs');
  clock.advance(10_000);
  t.is(call.calls.length, 0, 'a running one waits for its thread\'s answer');
  t.is(thread.terminations, 0);
  thread.complete(task!.id, 3);
  t.deepEqual(await call.first(), [true, 3]);
  pool[kCancel](id, new CancelledError('too late'));
  clock.advance(10_000);
  t.is(thread.terminations, 0);
  await stopAll(pool, threads);
  call.single();
  t.is(pool.stats().threadsDied, 0);
});

test('a cancel after an abort ends the task as any cancel: it settles at once, and cancelGrace applies', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1, cancelGrace: 500 });
  pool.start();
  const call = new Outcomes('the aborted task');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  const thread = threads.last.attach();
  thread.takeTasks();
  pool[kAbort](id, new CancelledError('taken again'));
  clock.advance(1000);
  t.is(call.calls.length, 0);
  pool[kCancel](id, new CancelledError('the later run ended'));
  const [ok, err] = call.single();
  t.true(!ok && err instanceof CancelledError, describeOutcome(ok, err));
  clock.advance(500);
  t.is(thread.terminations, 1, 'terminated once cancelGrace passed after the cancel');
  thread.exit(1);
  await stopAll(pool, threads);
  call.single();
});

test('queueTimeout withdraws a task still queued; it never reaches a thread', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1 });
  const busy = new Outcomes('the task that holds the thread');
  const late = new Outcomes('the task with a queue timeout');
  pool[kSubmit](add, [1, 2], busy.sink);
  const id = pool[kSubmit](add, [3, 4], late.sink);
  pool[kTimeouts](id, 100, undefined);
  pool.start();
  const thread = threads.last.attach();
  const [task] = thread.takeTasks(1);
  clock.advance(99);
  t.is(late.calls.length, 0);
  t.is(pool.queued, 1);
  clock.advance(1);
  const [ok, err] = late.single();
  t.false(ok);
  t.true(err instanceof TaskTimeoutError, describeOutcome(ok, err));
  t.is((err as TaskTimeoutError).phase, 'queue');
  t.is(pool.queued, 0);
  thread.complete(task!.id, 3);
  t.deepEqual(await busy.first(), [true, 3]);
  t.is(thread.take(4), 'none', 'the withdrawn task never reaches the thread');
  await stopAll(pool, threads);
  late.single();
  busy.single();
});

test('timeouts given for a task that already failed (no thread could start) arm no timer', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1 });
  pool.start();
  threads.refuseNext(1000, new TypeError('invalid execArgv'));
  const call = new Outcomes('the task no thread can run');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  pool[kFlush]();  // pushed (as at the end of this turn): no thread can start for it
  t.true(call.single()[1] instanceof ThreadDiedError, 'it failed once it was pushed');
  pool[kTimeouts](id, 60_000, 60_000);
  t.is(clock.pending, 0);
  await stopAll(pool, threads);
});

test('a task that settles drops its queue and run timers at once', async (t) => {
  const { pool, threads, clock } = fakePool({ maxThreads: 1 });
  pool.start();
  const call = new Outcomes('the task with both timeouts');
  const id = pool[kSubmit](add, [1, 2], call.sink);
  pool[kTimeouts](id, 60_000, 60_000);
  t.is(clock.pending, 2, 'a queue timer and a run watch');
  const thread = threads.last.attach();
  const [task] = thread.takeTasks();
  thread.complete(task!.id, 3);
  t.deepEqual(await call.first(), [true, 3]);
  t.is(clock.pending, 0, 'no timer waits a minute for a task that is over');
  await stopAll(pool, threads);
  call.single();
});

test('stop() rejects queued work at once, lets running work finish, and resolves once every thread has exited', async (t) => {
  const { pool, threads } = fakePool({ maxThreads: 1 });
  const running = new Outcomes('the running task');
  const queued = [new Outcomes('queued task 1'), new Outcomes('queued task 2')];
  pool.callInThreadWithCallback(running.onResult, add, 1, 2);
  for (const q of queued) pool.callInThreadWithCallback(q.onResult, add, 0, 0);
  pool.start();
  const thread = threads.last.attach();
  const [task] = thread.takeTasks(1);
  t.false(thread.refed, 'a thread does not hold the owner\'s loop open');

  let stopped = false;
  const stopping = pool.stop().then(() => { stopped = true; });
  t.true(pool.joined);
  for (const q of queued) {
    const [ok, err] = q.single();
    t.false(ok);
    t.true(err instanceof PoolStoppedError, describeOutcome(ok, err));
  }
  t.true(thread.refed, 'stop() holds the loop open until the thread exits');
  thread.complete(task!.id, 3);
  t.deepEqual(await running.first(), [true, 3]);
  t.false(stopped, 'not before its thread exited');
  t.is(thread.take(), 'stopping');
  thread.exit(0);
  await within(stopping, 10_000, 'stop()', () => 'the thread\'s exit');
  t.true(stopped);
  const after = new Outcomes('a call after stop()');
  pool.callInThreadWithCallback(after.onResult, add, 1, 1);
  const [ok, err] = await after.first();
  t.false(ok);
  t.true(err instanceof PoolStoppedError, describeOutcome(ok, err));
  t.is(pool.stats().threadsDied, 0);
  running.single();
  for (const q of queued) q.single();
  after.single();
});

test('a surplus thread retires after adjustPoolsize lowers max; it neither counts as died nor is replaced', async (t) => {
  const { pool, threads } = fakePool({ minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  pool.start();
  t.is(threads.all.length, 2);
  const [a, b] = threads.all;
  t.is(a!.attach().take(), 'none');
  t.is(b!.attach().take(), 'none');
  pool.adjustPoolsize(0, 1);
  t.is(a!.take(), 'retire');
  t.is(b!.take(), 'none', 'one thread stays, at the new max');
  a!.exit(0);
  t.is(pool.workers, 1);
  t.is(threads.all.length, 2, 'no replacement');
  t.is(pool.stats().threadsDied, 0);
  // The one left serves.
  const call = new Outcomes('a call after the retirement');
  pool.callInThreadWithCallback(call.onResult, add, 2, 2);
  const [task] = b!.takeTasks();
  b!.complete(task!.id, 4);
  t.deepEqual(await call.first(), [true, 4]);
  await stopAll(pool, threads);
  call.single();
});

test('a recycled thread exits without counting as died, and a new thread takes the work left', async (t) => {
  const { pool, threads } = fakePool({ maxThreads: 1, maxTasksPerThread: 1 });
  const calls = [new Outcomes('the first task'), new Outcomes('the second task')];
  for (const [i, c] of calls.entries()) pool.callInThreadWithCallback(c.onResult, add, i, 0);
  pool.start();
  const first = threads.last.attach();
  t.is(first.data.maxTasks, 1, 'the thread is told its maxTasksPerThread');
  const [task] = first.takeTasks(1);
  first.complete(task!.id, 0);
  first.recycle();
  t.is(first.take(), 'retire');
  first.exit(0);
  t.is(pool.stats().threadsDied, 0);
  t.is(threads.all.length, 2, 'replaced, for the queued task');
  const second = threads.last.attach();
  const [next] = second.takeTasks(1);
  second.complete(next!.id, 1);
  t.deepEqual(await calls[0]!.first(), [true, 0]);
  t.deepEqual(await calls[1]!.first(), [true, 1]);
  await stopAll(pool, threads);
  for (const c of calls) c.single();
});

test('an idle thread that dies is reported and replaced to keep the floor', async (t) => {
  const { pool, threads } = fakePool({ minThreads: 1, maxThreads: 1 });
  const reported: unknown[] = [];
  pool.on('error', (e) => reported.push(e));
  pool.start();
  const crash = new Error('crashed while idle');
  threads.last.attach().die(crash);
  t.is(reported.length, 1);
  t.true(reported[0] instanceof ThreadDiedError);
  t.is((reported[0] as Error).cause, crash);
  t.is(threads.all.length, 2, 'replaced to keep minThreads');
  t.is(pool.stats().threadsDied, 1);
  threads.last.attach();
  await stopAll(pool, threads);
});

test('whenRoom() resolves when a queued task is withdrawn, with no result arriving', async (t) => {
  const { pool, clock } = fakePool({ maxThreads: 1, maxQueue: 1 });
  const queued = new Outcomes('the task that fills the queue');
  const id = pool[kSubmit](add, [1, 2], queued.sink);
  pool[kTimeouts](id, 100, undefined);
  let drained = 0;
  pool.on('drain', () => { drained++; });
  const room = pool.whenRoom();
  clock.advance(100);
  t.true(queued.single()[1] instanceof TaskTimeoutError);
  await within(room, 10_000, 'whenRoom()', () => 'room after the withdrawal');
  t.is(drained, 1);
  await pool.stop();
});

test('whenRoom() resolves when stop() empties a full queue', async (t) => {
  const { pool } = fakePool({ maxThreads: 1, maxQueue: 1 });
  const queued = new Outcomes('the task that fills the queue');
  pool[kSubmit](add, [1, 2], queued.sink);
  const room = pool.whenRoom();
  const stopped = pool.stop();
  t.true(queued.single()[1] instanceof PoolStoppedError);
  await within(room, 10_000, 'whenRoom()', () => 'room after stop()');
  await stopped;
});

test('the internal quick threshold is checked: a number from 0 to 1e9 ms', async (t) => {
  const make = (quickTaskMs: unknown) => new ThreadPool({ minThreads: 0, maxThreads: 1 }, { quickTaskMs: quickTaskMs as number });
  t.throws(() => make('50'), { instanceOf: TypeError, message: /quickTaskMs must be a number/ });
  for (const bad of [NaN, -1, -Infinity, Infinity, 2e9]) t.throws(() => make(bad), { instanceOf: TypeError, message: /quickTaskMs out of range/ }, String(bad));
  for (const good of [0, 50, 1e9, undefined]) {
    let pool: ThreadPool | undefined;
    t.notThrows(() => { pool = make(good); }, String(good));
    await pool?.stop();
  }
});
