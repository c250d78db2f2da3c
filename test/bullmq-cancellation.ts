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
import { CancelledError, deferToThreadPool, reactor, TaskTimeoutError } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { startRedis, withRedis, type RedisServer } from './_helpers/redis.js';
import { callerRoot, startWorker, type WorkerProcess } from './_helpers/bullmq-workers.js';
import { eventually } from './_helpers/wait.js';
import { CANCEL_EVENT, controlQueueName } from '../dist/bullmq/control.js';
import { encodeRemote } from '../dist/bullmq/remote-codec.js';
import { add, nap, spin, waitForAbort } from './_fixtures/bullmq/tasks.cjs';

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
