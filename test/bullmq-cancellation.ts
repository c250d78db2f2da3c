// Cancelling remote calls, and their timeouts: a waiting job is removed
// from the queue, a running one is cancelled on the worker that holds it
// (its task sees the abort), a queue timeout withdraws a job no worker
// took, and a run timeout is enforced by the worker's pool, which ends a
// thread that does not stop. A real redis-server.
import anyTest from 'ava';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEventsProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { CancelledError, deferToThreadPool, reactor, TaskTimeoutError } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { startRedis, withRedis, type RedisServer } from './_helpers/redis.js';
import { callerRoot, startWorker, workerRoot, type WorkerProcess } from './_helpers/bullmq-workers.js';
import { eventually } from './_helpers/wait.js';
import { CANCEL_EVENT, controlQueueName } from '../dist/bullmq/control.js';
import { encodeRemote } from '../dist/bullmq/remote-codec.js';
import { add, firstRunAborted, nap, spin, waitForAbort } from './_fixtures/bullmq/tasks.cjs';

const test = withRedis(anyTest);
const allow = ['./tasks.cjs'];
let redis: RedisServer;
const stops: (() => Promise<unknown>)[] = [];
const dir = mkdtempSync(join(tmpdir(), 'rt-bullmq-cancel-'));

test.before(async () => { redis = await startRedis(); });
test.after.always(async () => {
  for (const stop of stops.reverse()) await stop();
  await redis?.stop();
});

function poolFor(queueName: string): BullMQThreadPool {
  const pool = new BullMQThreadPool({ queueName, connection: redis.connection, root: callerRoot });
  pool.start();
  stops.push(() => pool.stop());
  return pool;
}

async function workerFor(queueName: string): Promise<WorkerProcess> {
  const worker = await startWorker(redis, { queueName, allow, threads: 2 });
  stops.push(() => worker.stop());
  return worker;
}

function queueFor(queueName: string): Queue {
  const queue = new Queue(queueName, { connection: redis.connection });
  stops.push(() => queue.close());
  return queue;
}

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

test('a cancelled call whose job waits is removed from the queue and never runs', async (t) => {
  const queueName = `cancel-waiting-${randomUUID()}`;
  const pool = poolFor(queueName);
  const queue = queueFor(queueName);
  const file = join(dir, 'waiting');
  const controller = new AbortController();
  const call = deferToThreadPool.with({ signal: controller.signal })(reactor, pool, nap, 1, file);
  await eventually(async () => (await queue.getWaitingCount()) === 1, 'the job waits in the queue');
  controller.abort('changed my mind');
  const err = await t.throwsAsync(call, { instanceOf: CancelledError });
  t.is(err!.cause, 'changed my mind');
  await eventually(async () => (await queue.getWaitingCount()) === 0, 'the job left the queue');
  // A worker that comes later finds nothing of it.
  await workerFor(queueName);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2);
  t.deepEqual(lines(file), [], 'the cancelled job never started');
});

test('a cancelled call whose job runs is cancelled on the worker that holds it: its task sees the abort, and it is not retried', async (t) => {
  const queueName = `cancel-running-${randomUUID()}`;
  const pool = poolFor(queueName);
  const queue = queueFor(queueName);
  const worker = await workerFor(queueName);
  const file = join(dir, 'running');
  const controller = new AbortController();
  const call = deferToThreadPool.with({ signal: controller.signal, attempts: 3 })(reactor, pool, waitForAbort, file);
  await eventually(() => lines(file).length === 1, 'the task started');
  t.deepEqual(lines(file), [`started ${worker.pid}`]);
  controller.abort();
  await t.throwsAsync(call, { instanceOf: CancelledError });
  await eventually(() => lines(file).length === 2, 'the task saw the abort');
  t.deepEqual(lines(file), [`started ${worker.pid}`, 'aborted'], 'the task on the worker saw the abort');
  await eventually(async () => (await queue.getFailedCount()) === 1, 'the job failed');
  const [failed] = await queue.getFailed();
  t.is(failed!.attemptsMade, 1, 'a cancelled job is not retried');
  t.regex(failed!.failedReason, /^CancelledError/);
  t.deepEqual(failed!.stacktrace, [], 'BullMQ keeps no stack of the worker\'s main thread: the failure\'s own is in its reason');
});

// (helper-160: it read its control stream from its own clock's minute ago,
// past every cancellation Redis's clock stamped, and none reached it.)
test('a worker whose clock runs ahead of Redis\'s still gets its cancellations', async (t) => {
  const queueName = `cancel-skewed-${randomUUID()}`;
  const pool = poolFor(queueName);
  const worker = await startWorker(redis, { queueName, allow, threads: 2 }, ['--require', join(workerRoot(), 'clock-ahead.cjs')]);
  stops.push(() => worker.stop());
  const file = join(dir, 'skewed');
  const controller = new AbortController();
  const call = deferToThreadPool.with({ signal: controller.signal })(reactor, pool, waitForAbort, file);
  await eventually(() => lines(file).length === 1, 'the task started');
  controller.abort();
  await t.throwsAsync(call, { instanceOf: CancelledError });
  await eventually(() => lines(file).length === 2, 'the task on the worker saw the abort');
  t.deepEqual(lines(file), [`started ${worker.pid}`, 'aborted']);
});

test('control events the worker cannot parse do not end or hold back its cancellations: a job running after them is still cancelled, at once', async (t) => {
  // (BullMQ's events reader JSON.parses a 'completed' event's returnvalue and ended for good on '{':
  // anyone who could write the control stream stopped every later cancellation, in silence.
  // Then each such entry held them back a second: helper-151.)
  const queueName = `cancel-after-poison-${randomUUID()}`;
  const pool = poolFor(queueName);
  const worker = await workerFor(queueName);
  const raw = new Redis(redis.connection);
  stops.push(() => raw.quit());
  for (let i = 0; i < 15; i++) {
    await raw.xadd(`bull:${controlQueueName(queueName)}:events`, '*', 'event', 'completed', 'jobId', `x${i}`, 'returnvalue', '{');
  }
  const file = join(dir, 'after-poison');
  const controller = new AbortController();
  const call = deferToThreadPool.with({ signal: controller.signal })(reactor, pool, waitForAbort, file);
  await eventually(() => lines(file).length === 1, 'the task started');
  controller.abort();
  await t.throwsAsync(call, { instanceOf: CancelledError });
  // (Within the 10 s that `eventually` allows, where 15 pauses of a second took 15.)
  await eventually(() => lines(file).length === 2, `the task saw the abort:\n${worker.output()}`);
  t.deepEqual(lines(file), [`started ${worker.pid}`, 'aborted'], 'the task on the worker saw the abort');
  t.regex(worker.output(), /reactor-threads\/bullmq worker: SyntaxError/, 'the worker said why its reader ended');
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2);
});

/**
 * Makes the worker that holds a queue's one active job (or job `jobId`) take it again while
 * its run goes on, as when the worker's loop stalled past lockDuration:
 * the job's lock is deleted and BullMQ's stalled-job check puts the job
 * back. Deleted just after a renewal (seen as its lock's TTL rising): the
 * next renewal, lockDuration / 2 later, would find it gone and cancel the
 * run itself (lockRenewalFailed) before the check, every stalledInterval,
 * gives the job back.
 */
async function takenAgain(queueName: string, jobId = '*'): Promise<void> {
  const raw = new Redis({ ...redis.connection, maxRetriesPerRequest: null });
  try {
    const locks = await raw.keys(`bull:${queueName}:${jobId}:lock`);
    if (locks.length !== 1) throw new Error(`one lock expected, found ${locks.length}`);
    let ttl = await raw.pttl(locks[0]!);
    await eventually(async () => {
      const now = await raw.pttl(locks[0]!);
      const renewed = now > ttl;
      ttl = now;
      return renewed;
    }, 'the worker renewed the job\'s lock');
    await raw.del(locks[0]!);
  } finally {
    await raw.quit();
  }
}

/** SIGTERM, then SIGKILL if the worker has not exited within 15 s: whether it closed by itself. */
async function closed(worker: WorkerProcess): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(r, 15_000, 'late'); });
  const end = await Promise.race([worker.stop(), late]);
  clearTimeout(timer);
  if (end !== 'late') return true;
  await worker.kill();
  return false;
}

// The job is taken again while its first run goes on, on a worker of one
// thread, where both runs share it. The first run is no longer the job's:
// nothing else would stop it (the caller's cancel and BullMQ's
// lockRenewalFailed reach the job's latest run), and the worker's close()
// would wait for it for ever. It must be stopped without harm to the later
// run, which completes under its lock: BullMQ keeps one lock renewal per
// job id, which the first run's end would drop (a fix that cancelled the
// first run did, and the job stalled), and a cancel past cancelGrace ends
// the thread the later run shares.
for (const [how, afterAbortMs] of [['ends at once', 0], ['runs on past cancelGrace', 2500]] as const) {
  test(`a job its worker takes again while its first run goes on: the first run gets its abort (and ${how}), and the later run completes under its lock`, async (t) => {
    const queueName = `taken-again-${randomUUID()}`;
    const pool = poolFor(queueName);
    const queue = queueFor(queueName);
    const worker = await startWorker(redis, { queueName, allow, threads: 1, concurrency: 2, lockDuration: 4000, stalledInterval: 200 });
    stops.push(() => closed(worker));
    const file = join(dir, `taken-again-${afterAbortMs}`);
    // The later run outlasts the lock (4 s) plus two stalled-job checks (a
    // lock no longer renewed would lapse first), and the first run's end
    // after its abort (2.5 s, while the thread they share lives on).
    const call = deferToThreadPool(reactor, pool, firstRunAborted, file, afterAbortMs, 6000);
    call.catch(() => {});  // (awaited below: a failed assertion before must not leave it unhandled)
    await eventually(() => lines(file).length === 1, 'the job\'s first run started');
    await takenAgain(queueName);
    await eventually(() => lines(file).length >= 2, 'the worker took the job again');
    t.is(await call, 'done', 'the later run\'s outcome is the job\'s');
    await eventually(() => lines(file).length === 4, 'both runs ended', 20_000);
    t.deepEqual(lines(file).filter((l) => l.startsWith('started')), [`started ${worker.pid}`, `started ${worker.pid}`],
      'it ran twice, on the same worker, and not a third time');
    t.deepEqual(lines(file).filter((l) => !l.startsWith('started')).sort(), ['aborted', 'done'],
      'the first run saw its abort; the later one ran to its end');
    const [job] = await queue.getCompleted();
    t.is(job?.returnvalue?.j, '"done"', 'the job completed, with the later run\'s value');
    t.is(await queue.getFailedCount(), 0);
    t.notRegex(worker.output(), /could not renew lock/, 'the lock was lost once, by the test, between renewals');
    t.true(await closed(worker), `the worker closed: no run of the job was left going\n${worker.output()}`);
  });
}

/** The stats a worker printed as it closed (test/_fixtures/bullmq/worker.mts). */
function closingStats(worker: WorkerProcess): { active: number; completed: number; failed: number; cancelled: number } | undefined {
  const line = /^closed (\{.*\})$/m.exec(worker.output());
  return line ? JSON.parse(line[1]!) : undefined;
}

// The first run ignores its abort past the later run's end: the later run
// cancels it then (processRun's finally), and its CancelledError is not
// the job's: the worker's stats count the job once, completed (they
// counted it cancelled too: helper-123's review of 10d423c). Its thread,
// which the first run then keeps past cancelGrace, is ended and replaced.
test('a job its worker takes again, whose first run outlasts the later one: the worker counts the job completed, not cancelled', async (t) => {
  const queueName = `taken-again-counted-${randomUUID()}`;
  const pool = poolFor(queueName);
  const worker = await startWorker(redis, { queueName, allow, threads: 1, concurrency: 2, lockDuration: 4000, stalledInterval: 200 });
  stops.push(() => closed(worker));
  const file = join(dir, 'taken-again-counted');
  // The first run ends 8 s after its abort, 2 s after the later run's end.
  const call = deferToThreadPool(reactor, pool, firstRunAborted, file, 8000, 6000);
  call.catch(() => {});  // (awaited below)
  await eventually(() => lines(file).length === 1, 'the job\'s first run started');
  await takenAgain(queueName);
  await eventually(() => lines(file).length >= 2, 'the worker took the job again');
  t.is(await call, 'done', 'the later run\'s outcome is the job\'s');
  t.true(await closed(worker), `the worker closed\n${worker.output()}`);
  t.like(closingStats(worker), { active: 0, completed: 1, failed: 0, cancelled: 0 }, worker.output());
});

test('a cancellation that reaches the worker before its job cancels the job when the worker takes it', async (t) => {
  // (As when a caller cancels while its job is being added: the caller publishes the cancellation, then
  // the job arrives.) The job is delayed by a second, so the worker has read the cancellation long before.
  const queueName = `cancel-early-${randomUUID()}`;
  const queue = queueFor(queueName);
  await workerFor(queueName);
  const control = new QueueEventsProducer(controlQueueName(queueName), { connection: redis.connection });
  stops.push(() => control.close());
  const file = join(dir, 'early');
  const jobId = `early-${randomUUID()}`;
  await control.publishEvent({ eventName: CANCEL_EVENT, jobId });
  const a = encodeRemote([file], 'args', false, (k: string) => k, 1 << 20, 'the arguments').data;
  await queue.add('waitForAbort', { v: 1, f: { k: 't', m: 'app:tasks.cjs', n: 'waitForAbort' }, a, l: 'waitForAbort', node: process.version },
    { jobId, delay: 1000, attempts: 3 });
  await eventually(async () => (await queue.getFailedCount()) === 1, 'the job failed (a job never cancelled waits for its abort forever)');
  const [failed] = await queue.getFailed();
  t.is(failed!.id, jobId);
  t.regex(failed!.failedReason, /^CancelledError/);
  t.is(failed!.attemptsMade, 1, 'a cancelled job is not retried');
  t.deepEqual(lines(file), [], 'its task never started');
});

// The job is back in the queue (its lock lost) while its first run goes
// on, and the worker has no room to take it again yet: a cancellation
// that comes then (a caller that saw the job active) reaches the first
// run, and is kept for the job's next run here too, which it cancels
// before it starts (it ran, helper-123's review of 10d423c).
test('a cancellation that reaches a job\'s run while the job waits to be taken again by the same worker cancels the later run too', async (t) => {
  const queueName = `cancel-retaken-${randomUUID()}`;
  const pool = poolFor(queueName);
  const queue = queueFor(queueName);
  const worker = await startWorker(redis, { queueName, allow, threads: 2, concurrency: 2, lockDuration: 4000, stalledInterval: 200 });
  stops.push(() => closed(worker));
  const control = new QueueEventsProducer(controlQueueName(queueName), { connection: redis.connection });
  stops.push(() => control.close());
  const file = join(dir, 'cancel-retaken');
  const call = deferToThreadPool(reactor, pool, waitForAbort, file);
  call.catch(() => {});  // (awaited below)
  await eventually(() => lines(file).length === 1, 'the job\'s first run started');
  const [job] = await queue.getActive();
  // The worker's other slot, taken for the rest of the test.
  const other = join(dir, 'cancel-retaken-other');
  const blocker = deferToThreadPool(reactor, pool, nap, 8000, other);
  blocker.catch(() => {});
  await eventually(() => lines(other).length === 1, 'the other job started');
  await takenAgain(queueName, job!.id);
  await eventually(async () => (await queue.getWaiting()).some((w) => w.id === job!.id), 'the job is back in the queue');
  await control.publishEvent({ eventName: CANCEL_EVENT, jobId: job!.id! });
  // (A later run that the cancellation missed waits for its abort for ever.)
  let settled = false;
  void call.finally(() => { settled = true; }).catch(() => {});
  await eventually(() => settled, 'the call settled', 20_000);
  await t.throwsAsync(call, { instanceOf: CancelledError });
  t.deepEqual(lines(file), [`started ${worker.pid}`, 'aborted'], 'the first run saw its abort, and the job did not run again');
  const failed = await queue.getJob(job!.id!);
  t.is(failed?.attemptsMade, 1);
  t.regex(failed?.failedReason ?? '', /^CancelledError/);
});

test('a call cancelled while the worker\'s thread loads its function\'s module never runs the function', async (t) => {
  const queueName = `cancel-loading-${randomUUID()}`;
  const pool = poolFor(queueName);
  const queue = queueFor(queueName);
  const { noteRun } = await import('./_fixtures/bullmq/slow-load.mjs');
  // The worker's threads note when they begin to load the module (its environment says where).
  const loading = join(dir, 'loading-begun');
  process.env.RT_TEST_SLOW_LOAD_NOTE = loading;
  // (One thread, one job at a time: the next job runs once the cancelled one's task has ended. A
  // cancelGrace longer than the load: the thread is not ended for a task that has not started yet.)
  const started = startWorker(redis, { queueName, allow: [...allow, './slow-load.mjs'], threads: 1, pool: { cancelGrace: 30_000 } });
  delete process.env.RT_TEST_SLOW_LOAD_NOTE;
  const worker = await started;
  stops.push(() => worker.stop());
  const cancelled = join(dir, 'loading-cancelled');
  const controller = new AbortController();
  const call = deferToThreadPool.with({ signal: controller.signal })(reactor, pool, noteRun, cancelled);
  await eventually(() => lines(loading).length === 1, 'the worker\'s thread began to load the module');
  controller.abort();
  await t.throwsAsync(call, { instanceOf: CancelledError });
  // Its module's load (1.5 s) has ended, and with it the cancelled job's task.
  const later = join(dir, 'loading-later');
  t.is(await deferToThreadPool(reactor, pool, noteRun, later), 'ran');
  t.deepEqual(lines(later), [`ran ${worker.pid}`]);
  t.deepEqual(lines(cancelled), [], 'the cancelled job\'s function never ran');
});

test('a queue timeout withdraws a call that no worker took', async (t) => {
  const queueName = `queue-timeout-${randomUUID()}`;
  const pool = poolFor(queueName);
  const queue = queueFor(queueName);
  const err = await t.throwsAsync(deferToThreadPool.with({ queueTimeout: 300 })(reactor, pool, add, 1, 2),
    { instanceOf: TaskTimeoutError });
  t.is(err!.phase, 'queue');
  // (A call that timed out while its job was being added has that job removed just after.)
  await eventually(async () => (await queue.getWaitingCount()) === 0, 'its job left the queue');
});

test('a run timeout is enforced by the worker: a thread that blocks is ended, and the worker keeps serving', async (t) => {
  const queueName = `run-timeout-${randomUUID()}`;
  const pool = poolFor(queueName);
  const worker = await workerFor(queueName);
  const started = Date.now();
  const err = await t.throwsAsync(deferToThreadPool.with({ runTimeout: 300 })(reactor, pool, spin, 60_000),
    { instanceOf: TaskTimeoutError });
  t.is(err!.phase, 'run');
  t.true(Date.now() - started < 30_000, 'it did not wait for the function');
  t.is(await deferToThreadPool(reactor, pool, spin, 1), worker.pid, 'the same worker serves the next call');
});
