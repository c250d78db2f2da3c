// Long tasks are spread over every thread: a thread takes a task of a
// slow function, or of one that never ran, alone (native/pool.h Take()),
// so no task waits behind another on a busy thread while a sibling is
// idle or starting. The exact rule is proved in native/test/core_test.cc
// (pool_spreads_slow_tasks); these check it end to end. And calls made
// one at a time stay on one thread (Push() wakes no sibling for a task
// that the thread on its way back from the last one will take), unless
// its loop is busy with a task's timer: then a sibling is woken. Serial:
// each wants both cores to itself.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add, awaitThenSpin, leaveBusyTimer, sleep, spin, spinSpan, whereAmI } from './_fixtures/tasks.cjs';

/** How many of `ids` ran on each thread, most first. */
function perThread(ids: number[]): number[] {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a);
}

test.serial('a first burst of long tasks on a started pool is split evenly over its threads', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  pool.start();
  // Both threads up and attached (two concurrent sleeps need both).
  await Promise.all([deferToThreadPool(reactor, pool, sleep, 30), deferToThreadPool(reactor, pool, sleep, 30)]);
  // The threads have seen only quick tasks, and never this function.
  for (let i = 0; i < 64; i++) await deferToThreadPool(reactor, pool, add, i, 1);
  // (Tasks of 150 ms: another process on the machine, a test runner's
  // child say, costs a thread tens of ms at a time, not two whole tasks.
  // Yet CI's run with eight test files at a time on 2 cores once split a
  // burst 6/2: so up to three bursts, and one must split at most 5/3. A
  // pool that does not spread them splits every burst 8/0 or 7/1. Later
  // bursts are of a function known to be slow, which is taken alone too.)
  const splits: string[] = [];
  for (let burst = 0; burst < 3; burst++) {
    const ids = await Promise.all(Array.from({ length: 8 }, () => deferToThreadPool(reactor, pool, spin, 150)));
    const counts = perThread(ids);
    splits.push(counts.join('/'));
    // 4/4 unless a thread lost a whole task's time to the machine.
    if (counts.length === 2 && counts[0]! <= 5) break;
  }
  t.true(splits.length < 3 || /^[45]\/[34]$/.test(splits[2]!), `splits ${splits.join(', ')}`);
  if (splits.length > 1) t.log(`splits ${splits.join(', ')}`);
  await pool.stop();
});

// An async task costs its thread nothing at a take while it awaits, yet
// computes once its await ends: a thread that took on while its sibling
// was about to take ran 6 to 8 of 8 such tasks (helper-156). Tasks in
// flight now count as their thread's (native FairShareLocked,
// pool_async_in_flight_shared). Up to three bursts, one must split at most
// 5/3, as above; at most 6/2 in `npm run test:cpus8`, which runs eight test
// files at a time on this VM's 2 cores: there a sibling about to take is
// often preempted past the 1 ms after which it no longer counts as about
// to take (native WakesSoon), and the taker goes on (CI's run split three
// bursts 6/2; before this change most bursts split 8/0 or 7/1).
test.serial('a burst of async tasks that await, then compute, is split evenly over a started pool\'s threads', async (t) => {
  const most = process.env.REACTOR_THREADS_TEST_CPUS === '8' ? 6 : 5;
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  pool.start();
  await Promise.all([deferToThreadPool(reactor, pool, sleep, 30), deferToThreadPool(reactor, pool, sleep, 30)]);
  // Known as quick: only the part before its await holds the thread.
  for (let i = 0; i < 4; i++) await deferToThreadPool(reactor, pool, awaitThenSpin, 0);
  const splits: string[] = [];
  for (let burst = 0; burst < 3; burst++) {
    const ids = await Promise.all(Array.from({ length: 8 }, () => deferToThreadPool(reactor, pool, awaitThenSpin, 60)));
    const counts = perThread(ids);
    splits.push(counts.join('/'));
    if (counts.length === 2 && counts[0]! <= most) break;
  }
  const last = splits[splits.length - 1]!.split('/').map(Number);
  t.true(last.length === 2 && last[0]! <= most, `splits ${splits.join(', ')}`);
  if (splits.length > 1) t.log(`splits ${splits.join(', ')}`);
  await pool.stop();
});

test.serial('a burst on a cold pool is spread over its threads as they come up', async (t) => {
  const pool = new ThreadPool({ minThreads: 0, maxThreads: 2, idleTimeout: Infinity });
  pool.start();
  // 16 tasks of 100 ms: over a second of work, so that the second thread
  // comes up before the first could finish them alone even where threads
  // start slowly (in CI under AddressSanitizer, with other work on both
  // cores, 8 tasks were once all done before it came up), and so that the
  // few ms more that each of a new thread's first tasks costs it there
  // (its code still cold) do not add up to a task: with 60 ms tasks it ran
  // 6 of the 15 after it came up, once, under AddressSanitizer.
  const spans = await Promise.all(Array.from({ length: 16 }, () => deferToThreadPool(reactor, pool, spinSpan, 100)));
  const threads = [...new Set(spans.map((s) => s.threadId))];
  t.is(threads.length, 2, 'both threads ran some');
  // The second thread comes up tens of ms late (hundreds on a loaded
  // machine). From then on the two share what is left: the first did not
  // take the burst while it was alone.
  const firstStart = (id: number): number => Math.min(...spans.filter((s) => s.threadId === id).map((s) => s.start));
  const [, second] = threads.sort((a, b) => firstStart(a) - firstStart(b));
  const upAt = firstStart(second!);
  const after = spans.filter((s) => s.start >= upAt);
  const bySecond = after.filter((s) => s.threadId === second).length;
  t.true(Math.abs(after.length - 2 * bySecond) <= 2, `after the second thread came up: ${bySecond} of ${after.length} on it`);
  await pool.stop();
});

test.serial('calls made one after another stay on the thread that ran the one before', async (t) => {
  /** How many of 2,000 calls, each awaited, ran on another thread than the call before, on a new pool. */
  async function movesOnANewPool(): Promise<number> {
    const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
    pool.start();
    try {
      // Both threads up and attached, both idle.
      await Promise.all([deferToThreadPool(reactor, pool, sleep, 30), deferToThreadPool(reactor, pool, sleep, 30)]);
      let moves = 0;
      let last = (await deferToThreadPool(reactor, pool, whereAmI)).threadId;
      for (let i = 0; i < 2_000; i++) {
        const { threadId } = await deferToThreadPool(reactor, pool, whereAmI);
        if (threadId !== last) moves++;
        last = threadId;
      }
      return moves;
    } finally {
      await pool.stop();
    }
  }
  // From a cold path on: while V8 compiles it, the caller's next call
  // often came before the thread that answered was back for work, and a
  // sibling woken for it took it (50-300 moves in the first 2,000 calls
  // before; 0-2 in 21,000 since). A few are allowed: a thread that yields
  // to its loop after 64 batches in a turn. But a thread the machine stalls
  // on its way back for work is rightly passed over for its idle sibling,
  // and CI's run of the suite under Node 24 while other files ran once
  // counted 26: so up to three tries, each on new (cold) threads, and one
  // must stay at 20 or fewer. The bug moved calls in every cold start.
  const counts: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    counts.push(await movesOnANewPool());
    if (counts.at(-1)! <= 20) break;
  }
  t.true(counts.at(-1)! <= 20, `calls that ran on another thread than the call before, of 2,000 per try: ${counts.join(', ')}`);
  if (counts.length > 1) t.log(`moves per try: ${counts.join(', ')}`);
});

test.serial('a call goes to a sleeping sibling, not to the thread whose loop runs a task\'s long timer', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, idleTimeout: Infinity });
  pool.start();
  // Both threads up and attached, both idle.
  await Promise.all([deferToThreadPool(reactor, pool, sleep, 30), deferToThreadPool(reactor, pool, sleep, 30)]);
  const flags = new Int32Array(new SharedArrayBuffer(8));
  try {
    // The thread that ran it is the most recent to wait for work, and its
    // loop then computes in the task's timer until this test says stop.
    const busyOn = await deferToThreadPool(reactor, pool, leaveBusyTimer, flags);
    const deadline = Date.now() + 10_000;
    while (Atomics.load(flags, 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    t.is(Atomics.load(flags, 0), 1, 'the timer began');
    // (Past the millisecond in which a thread back from a task counts as
    // on its way to its loop's poll: native/pool.h WakesSoonLocked.)
    await new Promise((r) => setTimeout(r, 20));
    // Woken onto the busy thread, the call would wait for its timer (10 s).
    const where = await deferToThreadPool(reactor, pool, whereAmI);
    t.not(where.threadId, busyOn, 'the call ran on the sibling whose loop was polling');
  } finally {
    Atomics.store(flags, 1, 1);
  }
  await pool.stop();
});
