// reactor.callFromThread from a thread: non-blocking (until its reactor's
// inbox is full), in order, nothing lost, and delivered before the task's
// own result.
import test from 'ava';
import { deferToThread, deferToThreadPool, reactor, ReactorGoneError, TaskTimeoutError, ThreadPool } from 'reactor-threads';
import { callsThatLoadFirst, callsThenEnds, fireCalls, floodFor, slowCallThenFlood } from './_fixtures/bridge-tasks.cjs';
import { offerNoop } from './_fixtures/proxy-tasks.cjs';
import { identity, spin } from './_fixtures/tasks.cjs';
import { fixture, runChild } from './_helpers/child.js';

/** The inbox's high-water mark (native/reactor.h), as the README states it. */
const INBOX_HIGH_WATER = 16_384;

test('100,000 calls from one thread all arrive, in order, before its task settles', async (t) => {
  const seen: number[] = [];
  const n = await deferToThread(fireCalls, (i: number) => { seen.push(i); }, 100_000);
  t.is(n, 100_000);
  t.is(seen.length, 100_000, 'every call ran before the Promise settled');
  t.true(seen.every((v, i) => v === i), 'in the order they were made');
});

/** A count of calls a thread made, which this thread reads whenever it likes (no clocks compared across threads). */
const callsMade = (): Int32Array => new Int32Array(new SharedArrayBuffer(4));

/**
 * Keeps this thread (the reactor) busy, serving nothing, until the
 * thread counting in `made` has made no call for 200 ms: it waits for
 * room (it floods for far longer). False if that did not come in 20 s.
 */
function busyUntilHeldUp(made: Int32Array): boolean {
  const deadline = Date.now() + 20_000;
  let last = Atomics.load(made, 0);
  let since = Date.now();
  for (let now = since; now < deadline; now = Date.now()) {
    const n = Atomics.load(made, 0);
    if (n !== last) {
      last = n;
      since = now;
    } else if (now - since >= 200) {
      return true;
    }
  }
  return false;
}

test('a thread that floods a busy reactor waits once 16,384 of its calls are queued, and loses none', async (t) => {
  const postedAt: number[] = [];
  const made = callsMade();
  let flooding!: () => void;
  const started = new Promise<void>((r) => { flooding = r; });
  const task = deferToThread(floodFor, (at: number) => { if (postedAt.push(at) === 1) flooding(); }, 2000, made);
  await started;
  // The reactor serves nothing until the thread stops: whatever it posts
  // meanwhile waits in its inbox, so the thread must wait for room.
  const servedBefore = postedAt.length;
  t.true(busyUntilHeldUp(made), 'the thread waited for room');
  const madeByThen = Atomics.load(made, 0);
  const n = await task;
  t.is(postedAt.length, n, 'every call ran before the task settled');
  t.true(postedAt.every((at, i) => i === 0 || at >= postedAt[i - 1]!), 'in the order they were made');
  // Nothing was served while this thread was busy: every call made by
  // then and not served before sat in the inbox; but for one, the call
  // that was waiting for room (counted before it waited).
  const waiting = madeByThen - servedBefore;
  t.true(waiting <= INBOX_HIGH_WATER + 1, `${waiting} calls waited in the inbox while the reactor served none`);
});

for (const busy of [false, true]) {
  const title = busy
    ? 'calls held back behind one whose function loads count toward the 16,384 from the batch that brought them: a busy reactor, then a load'
    : 'calls held back behind one whose function loads count toward the 16,384, and all run in order';
  test.serial(title, async (t) => {
    const made = callsMade();
    let madeWhenLoaded = -1;
    let logged = false;
    (globalThis as { reactorLog?: { push(s: string): void; loaded(): void } }).reactorLog = {
      push: () => { logged = true; },
      loaded: () => { madeWhenLoaded = Atomics.load(made, 0); },
    };
    const postedAt: number[] = [];
    const task = deferToThread(slowCallThenFlood, (at: number) => { postedAt.push(at); }, busy ? 'flood-busy' : 'flood', 1000, made);
    // Busy: the loading call and an inbox-full behind it reach the reactor
    // in one batch; holding them back there must not make room for more.
    if (busy) t.true(busyUntilHeldUp(made), 'the thread waited for room');
    const n = await task;
    t.is(postedAt.length, n, 'every call ran');
    t.true(postedAt.every((at, i) => i === 0 || at >= postedAt[i - 1]!), 'in the order they were made');
    t.true(logged);
    // None of them could run before the first call's module loaded: all
    // those made by then waited, but for the one waiting for room.
    t.true(madeWhenLoaded > 0, 'the thread made calls during the load');
    t.true(madeWhenLoaded <= INBOX_HIGH_WATER + 1, `${madeWhenLoaded} calls waited behind the loading call`);
  });
}

test.serial('a thread whose calls wait behind a long load does not hold up another thread\'s calls', async (t) => {
  let loadedAt = 0;
  (globalThis as { reactorLog?: { push(s: string): void } }).reactorLog = { push: () => { loadedAt = Date.now(); } };
  const slowPool = new ThreadPool({ maxThreads: 1 });
  const otherPool = new ThreadPool({ maxThreads: 1 });
  slowPool.start();
  otherPool.start();
  // Its module takes 5 s to load; meanwhile it floods past the mark and waits.
  const slow = deferToThreadPool(reactor, slowPool, slowCallThenFlood, () => undefined, 'long&ms=5000', 1000);
  let seen = 0;
  const n = await deferToThreadPool(reactor, otherPool, fireCalls, () => { seen++; }, 40_000);
  t.is(seen, n, 'the other thread\'s calls all ran');
  t.is(loadedAt, 0, 'while the first thread\'s call was still loading');
  await slow;
  t.true(loadedAt > 0);
  await Promise.all([slowPool.stop(), otherPool.stop()]);
});

test('an owner calling its busy thread\'s callable never waits for room, so its run timeout still ends the thread', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, cancelGrace: 0 });
  pool.start();
  const noop = await deferToThreadPool(reactor, pool, offerNoop);
  // The thread spins for a minute and serves nothing; this thread floods its inbox.
  const spinning = deferToThreadPool.with({ runTimeout: 300 })(reactor, pool, spin, 60_000);
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 2 * INBOX_HIGH_WATER; i++) reactor.callFromThread(noop);
  await t.throwsAsync(spinning, { instanceOf: TaskTimeoutError });
  await pool.stop();
});

/** Busy for `ms` on this thread. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a batch of calls that takes long to handle is handled in slices: the reactor\'s timers run before its end, and every call runs in order', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, identity, 0);
  const n = 5_000;
  const seen: number[] = [];
  let seenWhenTimerRan = -1;
  // 100 us a call: the batch takes half a second handled whole.
  const record = (i: number): void => {
    if (seen.length === 0) setTimeout(() => { seenWhenTimerRan = seen.length; }, 1);
    seen.push(i);
    busyFor(0.1);
  };
  const settled = deferToThreadPool(reactor, pool, fireCalls, record, n);
  // The thread makes all its calls meanwhile: they come in one batch.
  busyFor(300);
  t.is(await settled, n);
  t.is(seen.length, n, 'every call ran before the task settled');
  t.true(seen.every((v, i) => v === i), 'in the order they were made');
  t.true(seenWhenTimerRan >= 0 && seenWhenTimerRan < n / 2, `the timer ran after ${seenWhenTimerRan} of the ${n} calls`);
  await pool.stop();
});

test('a thread\'s calls to a slow function, made as fast as it can, leave the reactor\'s timers running: its task\'s runTimeout ends it on time', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, cancelGrace: 20 });
  pool.start();
  await deferToThreadPool(reactor, pool, identity, 0);
  let calls = 0;
  // About 20 us a call (1 ms every 50th): each batch drained, the thread
  // refills the inbox, and wake-ups follow one another within one turn.
  const record = (): void => { if (++calls % 50 === 0) busyFor(1); };
  const began = performance.now();
  const flooding = deferToThreadPool.with({ runTimeout: 100 })(reactor, pool, floodFor, record, 60_000, callsMade());
  await t.throwsAsync(flooding, { instanceOf: TaskTimeoutError });
  const took = performance.now() - began;
  // (Before the fix, 4 to 42 s; a turn of the loop is bounded, not timed.)
  t.true(took < 3_000, `the 100 ms runTimeout ended the task after ${Math.round(took)} ms (${calls} calls handled)`);
  await pool.stop();
});

test('under fake timers installed before the package loads, whose setImmediate and queueMicrotask never run, a flood of calls is still handled whole', async (t) => {
  const r = await runChild(fixture('flood-faked.mjs'), [], 30_000);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), 'handled 40000 of 40000');
});

test('a thread whose served reactor never loaded the package gets ReactorGoneError at once', (t) => {
  // ava runs this file in a Worker; its main thread never loaded the package.
  t.throws(() => reactor.callFromThread(() => undefined), { instanceOf: ReactorGoneError });
});

test.serial('calls held back behind a loading call keep their arguments while other threads\' messages are handled', async (t) => {
  // (Held back, they outlive their batch's delivery, whose bytes the next
  // batch writes over. Serial: the reactor's log is one for the file.)
  const seen: string[] = [];
  (globalThis as { reactorLog?: string[] }).reactorLog = seen;
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
  t.teardown(() => pool.stop());
  pool.start();
  const held = deferToThreadPool(reactor, pool, callsThenEnds, (s: string) => { seen.push(s); }, `held-${process.pid}-${Date.now()}`);
  const others = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    deferToThreadPool(reactor, pool, identity as (s: string) => string, `other ${i} ${'z'.repeat(600)}`)));
  t.deepEqual(others, Array.from({ length: 40 }, (_, i) => `other ${i} ${'z'.repeat(600)}`));
  t.is(await held, 'the result');
  t.deepEqual(seen, ['first, loaded on the reactor', 'second']);
});

test('a call whose function must load on the reactor runs before the thread\'s later calls and its result', async (t) => {
  const seen: string[] = [];
  (globalThis as { reactorLog?: string[] }).reactorLog = seen;
  const result = await deferToThread(callsThatLoadFirst, (s: string) => { seen.push(s); });
  seen.push(result);
  t.deepEqual(seen, ['first, loaded on the reactor', 'second', 'the result']);
});
