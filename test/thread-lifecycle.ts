// Per-thread lifecycle: hooks that open and close a thread's resources,
// and recycling threads after N tasks.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockingCallInThread, deferToThreadPool, PoolStoppedError, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import { closeConnection, failToStart, neverCloses, neverStarts, openConnection, slowerClose, slowStart, useConnection } from './_fixtures/lifecycle.cjs';
import { sleep } from './_fixtures/tasks.cjs';
import { within } from './_helpers/settlements.js';
import { platformTimeout, waitFor } from './_helpers/wait.js';

const hookLog = (): string => join(mkdtempSync(join(tmpdir(), 'rt-hooks-')), 'log');
const lines = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n');

test('onThreadStart runs before a thread\'s first task, onThreadExit after its last', async (t) => {
  const log = hookLog();
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, name: 'db', onThreadStart: openConnection, onThreadExit: closeConnection,
    env: { ...process.env, HOOK_LOG: log } });
  pool.start();
  const seen = await Promise.all(Array.from({ length: 6 }, () => deferToThreadPool(reactor, pool, useConnection)));
  t.true(seen.every((s) => s.connection?.startsWith('conn-')), 'every task saw its thread\'s connection');
  await pool.stop();
  const got = lines(log);
  t.is(got.filter((l) => l.includes(':start db')).length, 2);
  const exits = got.filter((l) => l.includes(':exit conn-'));
  t.is(exits.length, 2, 'each thread closed what it opened');
  for (const e of exits) {
    const thread = e.split(':')[0];
    t.true(got.indexOf(`${thread}:start db`) < got.indexOf(e));
  }
});

test('maxTasksPerThread replaces a thread after that many tasks, running its exit hook', async (t) => {
  const log = hookLog();
  const pool = new ThreadPool({ maxThreads: 1, maxTasksPerThread: 2, onThreadStart: openConnection, onThreadExit: closeConnection,
    env: { ...process.env, HOOK_LOG: log } });
  pool.start();
  const threads: number[] = [];
  for (let i = 0; i < 6; i++) threads.push((await deferToThreadPool(reactor, pool, useConnection)).threadId);
  t.is(new Set(threads).size, 3, `threads ${threads.join(',')}`);
  await pool.stop();
  t.is(lines(log).filter((l) => l.includes(':exit')).length, 3);
});

test('maxTasksPerThread bounds what a thread takes, not only what it finished: a burst of async tasks is spread over new threads', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, maxTasksPerThread: 2, concurrentTasksPerThread: 8 });
  pool.start();
  await deferToThreadPool(reactor, pool, sleep, 0);  // (known quick now: taken eight at a time)
  const where = await Promise.all(Array.from({ length: 8 }, () => deferToThreadPool(reactor, pool, sleep, 20)));
  const perThread = new Map<number, number>();
  for (const id of where) perThread.set(id, (perThread.get(id) ?? 0) + 1);
  // (Before: the thread took all eight, its count checked only as they finished.)
  t.true([...perThread.values()].every((n) => n <= 2), `tasks per thread: ${JSON.stringify([...perThread])}`);
  await pool.stop();
});

test('a thread that has taken its whole maxTasksPerThread gets no new affinity key: that key\'s call runs on a sibling with room at once', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, maxTasksPerThread: 3, concurrentTasksPerThread: 8 });
  pool.start();
  const call = (key: string, ms: number): Promise<number> => deferToThreadPool.with({ affinity: key })(reactor, pool, sleep, ms);
  t.true(await waitFor(() => pool.stats().threads === 2));
  await new Promise((r) => setTimeout(r, 300));
  // One thread holds two long tasks (room for one more), the other has run two and holds a third, long: its budget taken.
  const held = [call('b', 2_000), call('b', 2_000)];
  await new Promise((r) => setTimeout(r, 50));
  const a = await call('a', 1);
  await call('a', 1);
  held.push(call('a', 2_000));
  await new Promise((r) => setTimeout(r, 50));
  const c = call('c', 1);
  // (Before: 'c' was bound to the thread at its budget, the one with less
  // work, and waited there for its long task, then for the thread's exit.)
  t.is(await Promise.race([c.then(() => 'c'), Promise.all(held).then(() => 'the long tasks')]), 'c', 'the new key\'s call ended first');
  const ends = await Promise.all(held);
  t.not(a, ends[0], 'the two keys were bound to the two threads');
  t.is(await c, ends[0], 'the new key went to the thread with room');
  await pool.stop();
});

test('a key\'s call queued behind the last task of a recycling thread runs on a sibling, not after its onThreadExit, which never settles', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, maxTasksPerThread: 1, onThreadExit: neverCloses, cancelGrace: 200 });
  pool.start();
  const call = (ms: number): Promise<number> => deferToThreadPool.with({ affinity: 'k' })(reactor, pool, sleep, ms);
  const first = call(200);
  const second = call(1);  // (pinned to the same thread, behind the first)
  const [one, two] = await within(Promise.all([first, second]), platformTimeout(10_000), 'two calls of one key',
    () => 'the second waits on the recycled thread, in its onThreadExit');
  t.not(one, two, 'the second ran on the replacement');
  await within(pool.stop(), platformTimeout(10_000), 'stop()', () => 'threads in an onThreadExit that never settles');
});

test.serial('a recycled thread whose onThreadExit never settles is replaced at once; stop() terminates it after cancelGrace, saying so, and counts no death', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, maxTasksPerThread: 1, onThreadExit: neverCloses, cancelGrace: 200, name: 'hooks' });
  pool.start();
  const ran: number[] = [];
  // (Before: the one thread's hook never ended and counted toward maxThreads: the second call waited for ever.)
  for (let i = 0; i < 2; i++) {
    ran.push((await within(deferToThreadPool(reactor, pool, useConnection), platformTimeout(10_000), `call ${i + 1}`,
      () => 'no thread took it while the recycled ones ran their onThreadExit')).threadId);
  }
  t.is(new Set(ran).size, 2, `threads ${ran.join(',')}`);
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array): boolean => { written.push(String(chunk)); return true; }) as typeof write;
  try {
    // (Before: stop() never resolved.)
    await within(pool.stop(), platformTimeout(10_000), 'stop()', () => 'threads in an onThreadExit that never settles');
  } finally {
    process.stderr.write = write;
  }
  const said = written.filter((w) => w.includes('onThreadExit in hooks#'));
  t.is(said.length, 2, written.join(''));
  t.regex(said[0]!, /ran past cancelGrace \(200 ms\) during stop\(\); its thread is terminated/);
  t.is(pool.stats().threadsDied, 0);
});

test.serial('threads in a slow onThreadExit count toward maxThreads again once maxThreads of them live: at most twice maxThreads Workers, said once on stderr', async (t) => {
  // (Hooks of 1 s: longer than starting a thread, even under a sanitizer, so that four live at once.)
  const pool = new ThreadPool({ maxThreads: 2, maxTasksPerThread: 1, onThreadExit: slowerClose, name: 'capped' });
  pool.start();
  let most = 0;
  const said: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    if (String(chunk).includes("pool 'capped'")) said.push(String(chunk));
    return true;
  }) as typeof write;
  const calls = Array.from({ length: 8 }, () => deferToThreadPool(reactor, pool, useConnection).then((v) => {
    most = Math.max(most, pool.workers);
    return v;
  }));
  let ran: Awaited<typeof calls[number]>[];
  try {
    ran = await within(Promise.all(calls), platformTimeout(60_000), '8 calls', () => `${pool.workers} Workers, ${pool.queued} queued`);
  } finally {
    process.stderr.write = write;
  }
  t.is(said.length, 1, said.join(''));
  t.regex(said[0]!, /starts no thread while \d+ of its threads are in an onThreadExit that has not settled/);
  t.is(new Set(ran.map((r) => r.threadId)).size, 8, 'each on a thread of its own');
  // (Before: a Worker started beside each one in its hook: up to 8 alive.)
  t.true(most <= 4, `${most} Workers alive at once`);
  await pool.stop();
});

test.serial('stop({ drain: true }) runs the drained work on a thread that serves while the others are in a never-ending onThreadExit, not after cancelGrace ends them', async (t) => {
  const pool = new ThreadPool({ maxThreads: 2, maxTasksPerThread: 1, onThreadExit: neverCloses, cancelGrace: 3_000, name: 'drained' });
  pool.start();
  const events: string[] = [];
  const calls = Array.from({ length: 4 }, (_, i) => deferToThreadPool(reactor, pool, sleep, 1).then(() => { events.push(`call ${i + 1}`); }));
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    if (String(chunk).includes('onThreadExit in drained#')) events.push('a hook ended by cancelGrace');
    return true;
  }) as typeof write;
  try {
    await within(pool.stop({ drain: true }), platformTimeout(20_000), 'stop({ drain: true })', () => events.join(', '));
  } finally {
    process.stderr.write = write;
  }
  await Promise.all(calls);
  // (Before: a call queued behind two threads in their hooks waited for cancelGrace to end one.)
  t.deepEqual(events.slice(0, 4).sort(), ['call 1', 'call 2', 'call 3', 'call 4'], events.join(', '));
});

test('an owner parked in blockingCallInThread hears that a recycled thread runs its onThreadExit, and gets its replacement', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, maxTasksPerThread: 1, onThreadExit: neverCloses, cancelGrace: 100 });
  pool.start();
  // The thread's one task; it recycles as the owner waits, parked, for the next, and its hook never settles.
  const first = deferToThreadPool(reactor, pool, sleep, 200);
  // (Before: the parked owner read no word of the hook, started no thread, and timed out.)
  const answer = blockingCallInThread.with({ pool, timeout: platformTimeout(10_000) })(useConnection);
  t.not(answer.threadId, await first, 'answered by the replacement');
  await pool.stop();
});

test('stop() terminates a thread whose onThreadExit, begun by stop(), never settles, once cancelGrace has passed', async (t) => {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, onThreadExit: neverCloses, cancelGrace: 100 });
  pool.start();
  await deferToThreadPool(reactor, pool, useConnection);
  // (Before: stop() never resolved.)
  await within(pool.stop(), platformTimeout(10_000), 'stop()', () => 'threads in an onThreadExit that never settles');
  t.is(pool.stats().threadsDied, 0);
});

test('a thread whose onThreadStart fails never serves; queued tasks fail instead of waiting forever', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, onThreadStart: failToStart });
  pool.start();
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, useConnection), { instanceOf: ThreadDiedError });
  t.regex(err!.message, /no pool thread could start/);
  await pool.stop();
});

test('stop() ends a thread whose onThreadStart never settles: its queued task is rejected and no death is counted', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, onThreadStart: neverStarts });
  pool.start();
  const queued = deferToThreadPool(reactor, pool, useConnection);
  await new Promise((r) => setTimeout(r, 100));
  t.is(pool.stats().threads, 1, 'the thread is still starting');
  await within(pool.stop(), platformTimeout(10_000), 'stop()', () => 'a thread still starting');
  await t.throwsAsync(queued, { instanceOf: PoolStoppedError });
  t.is(pool.stats().threadsDied, 0);
});

test('stop({ drain: true }) ends a thread whose onThreadStart never settles once no queued work needs it', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, onThreadStart: neverStarts, cancelGrace: 200 });
  pool.start();
  await new Promise((r) => setTimeout(r, 100));
  t.is(pool.stats().threads, 1, 'the thread is still starting');
  await within(pool.stop({ drain: true }), platformTimeout(10_000), 'stop({ drain: true })', () => 'a thread still starting, no work queued');
  t.is(pool.stats().threadsDied, 0);
});

test('stop({ drain: true }) waits past cancelGrace for a thread still starting that its queued work needs', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, onThreadStart: slowStart, cancelGrace: 100 });
  pool.start();
  const queued = deferToThreadPool(reactor, pool, useConnection);
  await within(pool.stop({ drain: true }), platformTimeout(10_000), 'stop({ drain: true })', () => 'the drained task');
  t.is((await queued).connection, 'slow', 'the task ran, on the thread that took 600 ms to start');
  t.is(pool.stats().threadsDied, 0);
});

test('a hook that cannot be sent is refused when the pool is made', (t) => {
  const local = 1;
  t.throws(() => new ThreadPool({ onThreadStart: () => local }), { message: /'local'/ });
});
