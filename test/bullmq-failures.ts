// Remote calls when things fail: retries and backoff, error classes that
// are never retried, a worker killed while it holds a job, Redis
// restarted with and without persistence, jobs a worker cannot read, and
// a worker's close() with a run that does not end.
// Every caller's Promise settles exactly once; none hangs. A real
// redis-server.
import anyTest, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { deferToThreadPool, JobLostError, reactor } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { startRedis, withRedis, type RedisServer } from './_helpers/redis.js';
import { callerRoot, startWorker, type WorkerOptions, type WorkerProcess } from './_helpers/bullmq-workers.js';
import { eventually } from './_helpers/wait.js';
import { add, firstRunAborted, flaky, nap, Permanent, spin } from './_fixtures/bullmq/tasks.cjs';

const test = withRedis(anyTest);
const allow = ['./tasks.cjs'];
const dir = mkdtempSync(join(tmpdir(), 'rt-bullmq-failures-'));
const cleanups: (() => Promise<unknown>)[] = [];
test.after.always(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function redisServer(persistence = false): Promise<RedisServer> {
  const redis = await startRedis({ persistence });
  cleanups.push(() => redis.stop());
  return redis;
}

function poolFor(redis: RedisServer, queueName: string, checkInterval?: number): BullMQThreadPool {
  const pool = new BullMQThreadPool({ queueName, connection: redis.connection, root: callerRoot, checkInterval });
  pool.start();
  cleanups.push(() => pool.stop());
  return pool;
}

async function workerFor(redis: RedisServer, queueName: string, options: Partial<WorkerOptions> = {}): Promise<WorkerProcess> {
  const worker = await startWorker(redis, { queueName, allow, threads: 2, ...options });
  cleanups.push(() => worker.kill());
  return worker;
}

/** Waits until `n` jobs of the queue are in Redis, waiting or active (sent, not merely pending here). */
async function jobsInRedis(redis: RedisServer, queueName: string, n: number): Promise<void> {
  const queue = new Queue(queueName, { connection: redis.connection });
  try {
    await eventually(async () => {
      const counts = await queue.getJobCounts('waiting', 'active');
      return counts.waiting! + counts.active! === n;
    }, `${n} jobs in Redis`);
  } finally {
    await queue.close();
  }
}

/** SIGTERM: the worker closes and exits by itself (code 0) within 20 s; killed after 30 s. */
async function closesWithin20s(t: ExecutionContext, worker: WorkerProcess): Promise<void> {
  const started = Date.now();
  const timer = setTimeout(() => void worker.kill(), 30_000);
  const code = await worker.stop();
  clearTimeout(timer);
  t.is(code, 0, worker.output());
  t.true(Date.now() - started < 20_000, `close took ${Date.now() - started} ms`);
}

/** How many of the queue's jobs are active in Redis. */
async function jobsActive(redis: RedisServer, queueName: string): Promise<number> {
  const queue = new Queue(queueName, { connection: redis.connection });
  try {
    return (await queue.getJobCounts('active')).active!;
  } finally {
    await queue.close();
  }
}

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

let shared: { redis: RedisServer; pool: BullMQThreadPool } | undefined;
async function sharedQueue(): Promise<{ redis: RedisServer; pool: BullMQThreadPool }> {
  if (!shared) {
    const redis = await redisServer();
    const queueName = `failures-${randomUUID()}`;
    await workerFor(redis, queueName);
    shared = { redis, pool: poolFor(redis, queueName) };
  }
  return shared;
}

test.serial('attempts retries a failing call until it succeeds', async (t) => {
  const { pool } = await sharedQueue();
  const file = join(dir, 'retried');
  t.is(await deferToThreadPool.with({ attempts: 3 })(reactor, pool, flaky, file, 2, false), 3);
  t.is(lines(file).length, 3);
});

// A call's outcome read by a check, its events unheard (the pool's events
// connection cut, and kept out by maxclients): a job that completed on its
// second attempt keeps its first attempt's failedReason, which the check
// read first, and rejected the call (helper-160).
test('a call whose retry succeeded while its events went unheard resolves with the retry\'s value', async (t) => {
  const redis = await redisServer();
  const queueName = `unheard-retry-${randomUUID()}`;
  await workerFor(redis, queueName);
  const pool = poolFor(redis, queueName, 100);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2);
  const admin = new Redis(redis.connection);
  cleanups.push(async () => { admin.disconnect(); });
  const eventsName = `bull:${Buffer.from(queueName).toString('base64')}:qe`;
  const list = await admin.client('LIST') as string;
  const events = list.split('\n').find((line) => line.includes(` name=${eventsName} `));
  t.truthy(events, `the pool's events connection, named ${eventsName}`);
  const connected = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))![1]);
  await admin.config('SET', 'maxclients', String(connected - 1));
  cleanups.push(async () => { await admin.config('SET', 'maxclients', '10000'); });
  await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(events!)![1]!);
  const file = join(dir, 'unheard-retry');
  t.is(await deferToThreadPool.with({ attempts: 2 })(reactor, pool, flaky, file, 1, false), 2);
  t.is(lines(file).length, 2);
  await admin.config('SET', 'maxclients', '10000');
});

test.serial('a call fails with its last attempt\'s error once its attempts are spent', async (t) => {
  const { pool } = await sharedQueue();
  const file = join(dir, 'spent');
  const err = await t.throwsAsync(deferToThreadPool.with({ attempts: 2 })(reactor, pool, flaky, file, 5, false));
  t.is(err!.message, 'attempt 2');
  t.is(lines(file).length, 2);
});

test.serial('an error class marked notRetryable fails the call at its first attempt', async (t) => {
  const { pool } = await sharedQueue();
  const file = join(dir, 'permanent');
  await t.throwsAsync(deferToThreadPool.with({ attempts: 5 })(reactor, pool, flaky, file, 5, true),
    { instanceOf: Permanent, message: 'attempt 1' });
  t.is(lines(file).length, 1);
});

// (helper-160: a queueTimeout shorter than the backoff removed the job
// between its attempts, and the call failed with phase 'queue'.)
test.serial('a queueTimeout does not end a call whose job a worker took, while it waits out a backoff', async (t) => {
  const { pool } = await sharedQueue();
  const file = join(dir, 'backoff-queue-timeout');
  t.is(await deferToThreadPool.with({ attempts: 2, backoff: 1_500, queueTimeout: 500 })(reactor, pool, flaky, file, 1, false), 2);
  t.is(lines(file).length, 2);
});

test.serial('backoff waits between attempts', async (t) => {
  const { pool } = await sharedQueue();
  const file = join(dir, 'backoff');
  const started = Date.now();
  t.is(await deferToThreadPool.with({ attempts: 2, backoff: 600 })(reactor, pool, flaky, file, 1, false), 2);
  t.true(Date.now() - started >= 600, 'the second attempt came after the backoff');
});

// In a rolling deploy, a worker of the older code lacks a module the
// callers name: another worker may have it. (helper-160: such a failure
// was never retried, and 18 of 20 calls failed with attempts 3.)
test('a job whose function\'s module a worker cannot load is retried, as attempts allow', async (t) => {
  const redis = await redisServer();
  const queueName = `missing-module-${randomUUID()}`;
  await workerFor(redis, queueName, { allow: ['./'] });
  const queue = new Queue(queueName, { connection: redis.connection });
  cleanups.push(() => queue.close());
  const job = await queue.add('f', { v: 2, f: { k: 't', m: 'app:deployed-later.cjs', n: 'f' }, j: '[]', l: 'f' }, { attempts: 3 });
  await eventually(async () => Boolean((await queue.getJob(job.id!))?.finishedOn), 'the job failed for good');
  const failed = (await queue.getJob(job.id!))!;
  t.regex(failed.failedReason, /^FunctionNotSendableError: cannot import/);
  t.is(failed.attemptsMade, 3, 'retried');
});

test.serial('a job a worker cannot read fails at once with a typed error, and the worker keeps serving', async (t) => {
  const { redis, pool } = await sharedQueue();
  const queue = new Queue(pool.queueName, { connection: redis.connection });
  cleanups.push(() => queue.close());
  const later = await queue.add('later', { v: 99 }, { attempts: 3 });
  const garbage = await queue.add('garbage', { nonsense: true }, { attempts: 3 });
  const unreadable = await queue.add('unreadable', {
    v: 1, f: { k: 't', m: 'app:tasks.cjs', n: 'add' }, a: 'bm90IHY4', l: 'add', node: 'v99.0.0',
  }, { attempts: 3 });
  const reasons = new Map<string, string>();
  await eventually(async () => {
    for (const job of [later, garbage, unreadable]) {
      const now = await queue.getJob(job.id!);
      if (now?.finishedOn && now.failedReason) reasons.set(job.id!, now.failedReason);
    }
    return reasons.size === 3;
  }, 'all three failed');
  t.regex(reasons.get(later.id!)!, /^UnreadablePayloadError: .*format 99, later than/);
  t.regex(reasons.get(garbage.id!)!, /^UnreadablePayloadError/);
  t.regex(reasons.get(unreadable.id!)!, /^UnreadablePayloadError: .*Node v99\.0\.0/);
  for (const job of [later, garbage, unreadable]) t.is((await queue.getJob(job.id!))!.attemptsMade, 1, 'not retried');
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4);
});

test.serial('a job whose arguments are over the worker\'s maxPayloadBytes fails with a PayloadTooLargeError before a thread reads them, and the worker keeps serving', async (t) => {
  // (A caller's pool refuses such arguments; a job written by other means was handed to a thread and
  // parsed, 200 MB of it, whatever the worker's maxPayloadBytes.)
  const { redis, pool } = await sharedQueue();
  const queue = new Queue(pool.queueName, { connection: redis.connection });
  cleanups.push(() => queue.close());
  const limit = 1024 * 1024;
  const f = { k: 't', m: 'app:tasks.cjs', n: 'add' };
  // (add(1, 2) ignores the third argument: read, the job would complete with 3.)
  const jobs = await Promise.all([
    queue.add('add', { v: 2, f, j: JSON.stringify([1, 2, 'x'.repeat(limit)]) }, { attempts: 3 }),
    queue.add('add', { v: 2, f, a: 'A'.repeat(limit + 4) }, { attempts: 3 }),
  ]);
  const reasons = await finishReasons(queue, jobs);
  for (const job of jobs) {
    t.regex(reasons.get(job.id!)!, new RegExp(`^PayloadTooLargeError: the arguments: \\d+ bytes encoded, over the limit of ${limit}`));
    t.is((await queue.getJob(job.id!))!.attemptsMade, 1, 'not retried');
  }
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4);
});

/** Once every job of `jobs` has finished: why each failed, or what it completed with, by job id. */
async function finishReasons(queue: Queue, jobs: readonly Job[]): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  await eventually(async () => {
    for (const job of jobs) {
      const now = await queue.getJob(job.id!);
      if (now?.finishedOn) reasons.set(job.id!, now.failedReason ?? `completed with ${JSON.stringify(now.returnvalue)}`);
    }
    return reasons.size === jobs.length;
  }, `all ${jobs.length} jobs finished`);
  return reasons;
}

test.serial('a job whose runTimeout is not one a timer holds fails at once with a RangeError, and the worker keeps serving', async (t) => {
  // (A caller's .with() refuses them; a job written by anyone else was run with them: 3e9 became a 1 ms
  // timer re-armed in a loop, with a TimeoutOverflowWarning each time.)
  const { redis, pool } = await sharedQueue();
  const queue = new Queue(pool.queueName, { connection: redis.connection });
  cleanups.push(() => queue.close());
  const jobs = await Promise.all([3e9, -1, 'x'].map((runTimeout) => queue.add('add', {
    v: 2, f: { k: 't', m: 'app:tasks.cjs', n: 'add' }, j: '[1,2]', o: { runTimeout },
  }, { attempts: 3 })));
  const reasons = await finishReasons(queue, jobs);
  for (const job of jobs) {
    t.regex(reasons.get(job.id!)!, /^RangeError: options\.runTimeout must be a number of milliseconds > 0 and at most 2147483647/);
    t.is((await queue.getJob(job.id!))!.attemptsMade, 1, 'not retried');
  }
  t.is(await deferToThreadPool(reactor, pool, add, 2, 2), 4);
});

test('a worker killed while it holds a job: the job runs again on another worker, and the call settles once', async (t) => {
  const redis = await redisServer();
  const queueName = `killed-${randomUUID()}`;
  const quick = { lockDuration: 1000, stalledInterval: 500 };
  const workers = [await workerFor(redis, queueName, quick), await workerFor(redis, queueName, quick)];
  const pool = poolFor(redis, queueName);
  const file = join(dir, 'killed');
  const call = deferToThreadPool(reactor, pool, nap, 4000, file);
  await eventually(() => lines(file).length === 1, 'the job started');
  const holder = workers.find((w) => lines(file)[0] === `started ${w.pid}`)!;
  const survivor = workers.find((w) => w !== holder)!;
  await holder.kill();
  t.is(await call, survivor.pid, 'the surviving worker finished it');
  t.deepEqual(lines(file), [`started ${holder.pid}`, `started ${survivor.pid}`], 'it ran twice: at-least-once execution');
  t.like(pool.stats(), { pending: 0, completed: 1, failed: 0 });
});

test('a CPU-bound job that runs longer than its lock is not taken for stalled: the worker\'s main thread keeps renewing it', async (t) => {
  const redis = await redisServer();
  const queueName = `cpu-bound-${randomUUID()}`;
  const worker = await workerFor(redis, queueName, { lockDuration: 1000, stalledInterval: 500, threads: 1 });
  const pool = poolFor(redis, queueName);
  const file = join(dir, 'cpu-bound');
  t.is(await deferToThreadPool(reactor, pool, spin, 3000, file), worker.pid);
  t.deepEqual(lines(file), [`started ${worker.pid}`], 'it ran once');
});

test('Redis restarted with persistence: calls in flight complete', async (t) => {
  const redis = await redisServer(true);
  const queueName = `persisted-${randomUUID()}`;
  await workerFor(redis, queueName);
  const pool = poolFor(redis, queueName, 300);
  const calls = [1, 2, 3, 4].map((i) => deferToThreadPool(reactor, pool, nap, 800 + i));
  await jobsInRedis(redis, queueName, 4);
  await redis.kill();
  await redis.restart();
  const pids = await Promise.all(calls);
  t.is(pids.length, 4);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 2), 3, 'later calls work too');
});

test('Redis restarted with persistence while a burst is being sent: every call completes (sends that the restart cut are sent again)', async (t) => {
  const redis = await redisServer(true);
  const queueName = `resent-${randomUUID()}`;
  await workerFor(redis, queueName);
  const pool = poolFor(redis, queueName, 500);
  pool.on('error', () => {});
  t.is(await deferToThreadPool(reactor, pool, add, 0, 0), 0);
  const calls = Array.from({ length: 3000 }, (_, i) => deferToThreadPool(reactor, pool, add, i, 1));
  await new Promise((r) => setTimeout(r, 50));
  await redis.kill();
  await redis.restart();
  const results = await Promise.allSettled(calls);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  t.deepEqual(failed.slice(0, 3), []);
  t.deepEqual(results.map((r) => (r as PromiseFulfilledResult<number>).value), Array.from({ length: 3000 }, (_, i) => i + 1));
});

test('Redis restarted without persistence: calls in flight fail with a JobLostError within a bound, none hangs', async (t) => {
  const redis = await redisServer(false);
  const queueName = `lost-${randomUUID()}`;
  // (Its jobs, gone from Redis, lose their locks: the worker cancels them at its next renewal, lockDuration / 2.)
  await workerFor(redis, queueName, { lockDuration: 2000 });
  const pool = poolFor(redis, queueName, 300);
  const calls = [1, 2, 3].map(() => deferToThreadPool(reactor, pool, nap, 60_000));
  await jobsInRedis(redis, queueName, 3);
  // Acknowledged to the pool too: a job whose add's reply the kill cut is
  // sent again to the empty server, and runs there (at-least-once), which
  // is not the loss this test is about (in a CI run, such a call failed
  // with a ThreadDiedError: its job, sent again, ran on a thread that was
  // terminated for the cancelled tasks beside it).
  await eventually(async () => pool.stats().unsent === 0, 'the pool heard its jobs were added');
  await redis.kill();
  const restarted = Date.now();
  await redis.restart();
  const outcomes = await Promise.allSettled(calls);
  t.true(Date.now() - restarted < 15_000, `settled ${Date.now() - restarted} ms after the restart`);
  for (const o of outcomes) t.true(o.status === 'rejected' && o.reason instanceof JobLostError, String((o as PromiseRejectedResult).reason));
  t.is(pool.stats().lost, 3);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 2), 3, 'later calls work');
});

test('a worker whose job\'s outcome could not be written (Redis restarted empty under it) still exits after close()', async (t) => {
  const redis = await redisServer(false);
  const queueName = `unwritten-${randomUUID()}`;
  const worker = await workerFor(redis, queueName, { threads: 1 });
  const pool = poolFor(redis, queueName, 500);
  const call = deferToThreadPool(reactor, pool, nap, 3000);
  // (One connection for the whole wait: one per look, under AddressSanitizer
  // on a loaded machine, took longer than the run, which ended unseen.)
  const counts = new Queue(queueName, { connection: redis.connection });
  try {
    await eventually(async () => (await counts.getJobCounts('active')).active === 1, 'the job is active');
  } finally {
    await counts.close();
  }
  await redis.restart();
  await t.throwsAsync(call, { instanceOf: JobLostError });
  // The nap ends, and BullMQ cannot write its outcome: the job is gone.
  await eventually(async () => /Missing key|Lock mismatch|Missing lock/.test(worker.output()), 'the write failed', 20_000);
  // (close() waited for that outcome with a poll that outlived its bound: the process never exited.)
  await closesWithin20s(t, worker);
});

test('close() waits for a run no longer than lockDuration: the run is cancelled, its thread ended when it ignores that, the worker exits, and the job, not failed, goes to another worker', async (t) => {
  // (Before, close() waited for the run as long as it went: for ever, for
  // a function that never ends. The chaos run's seed 8008 saw such a worker
  // that never exited.)
  const redis = await redisServer();
  const queueName = `close-bound-${randomUUID()}`;
  const first = await workerFor(redis, queueName, { threads: 1, lockDuration: 2000 });
  const pool = poolFor(redis, queueName);
  const file = join(dir, 'close-bound');
  // Its first run waits for its abort, then ignores it for 60 s; a later one ends at once.
  const call = deferToThreadPool(reactor, pool, firstRunAborted, file, 60_000, 0);
  call.catch(() => {});  // (awaited below: a failed assertion before must not leave it unhandled)
  await eventually(() => lines(file).length === 1, 'the job started');
  const started = Date.now();
  const timer = setTimeout(() => void first.kill(), 30_000);
  const code = await first.stop();
  clearTimeout(timer);
  const took = Date.now() - started;
  t.is(code, 0, first.output());
  t.regex(first.output(), /closed /);
  // lockDuration (2 s), then cancelGrace (1 s) before its thread is ended, and the closing steps.
  t.true(took < 10_000, `close took ${took} ms`);
  // The job was not failed: once its lock lapses, another worker's stalled-job check gives it to that worker.
  const second = await workerFor(redis, queueName, { stalledInterval: 200 });
  t.is(await call, 'done');
  t.deepEqual(lines(file), [`started ${first.pid}`, `started ${second.pid}`, 'done'], 'its first run was ended with its thread');
});

test('a worker whose Redis died still closes on SIGTERM and exits, within a bound', async (t) => {
  const redis = await redisServer();
  const worker = await workerFor(redis, `closes-${randomUUID()}`);
  await redis.kill();
  // (BullMQ's own close waits for Redis: before the bound, this worker never exited.)
  await closesWithin20s(t, worker);
  t.regex(worker.output(), /closed /);
});
