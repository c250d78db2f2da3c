// The pool-thread entry: each pool thread is a Worker running this file.
// It takes task batches from its pool's native queue, runs them, and posts
// each result straight to the owner's native inbox. Between batches it
// waits in its own event loop (never in Atomics.wait), so its timers and
// async tasks keep running. Pool thread only. Tests: test/threadpool-*.ts.
import { workerData } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import { inspect } from 'node:util';
import { encodeThrow, ValueNotCloneableError } from './errors.js';
import { loadFunction } from './functions.js';
import type { CurrentTask } from './current-task.js';
import { CancelledError } from './errors.js';
import { native } from './native.js';
import { isPoolThreadData } from './pool-thread-data.js';
import { decodeValue, encodeResult } from './codec.js';
import { buildThread } from './thread.js';
import { readTasks, TaskStatus, type FunctionDescriptor, type TaskMessage } from './wire.js';

if (!isPoolThreadData(workerData)) throw new Error('reactor-threads: worker.js is started by a ThreadPool only');
const {
  poolId, owner, threadId, concurrency, idleTimeout, spinNs, threadName, startHook, exitHook, maxTasks, maxHeap,
} = workerData;

/**
 * This thread's runtime, built before anything asks for it: its calls go
 * to the pool's owner, its reactor hands it the pool's work signals and
 * cancels, and before it parks in a blocking call it hands back the tasks
 * it has not started. (The functions named here are declared below.)
 */
const thread = buildThread({
  owner, poolId, threadId,
  takeWork: () => pull(),
  cancelTask: (taskId) => cancelTask(taskId),
  beforePark: () => handBackUntaken(),
  // It left the waiting list while parked: look for work once the current task is done.
  afterPark: () => setImmediate(pull),
  outboxGate: (send) => (sendsAfterStdio ? afterStdio(send) : send()),
  currentTask: () => runningTask(),
});

/** Functions by pool function id; a Promise while the first use loads it. */
const functions: (Function | Promise<Function> | undefined)[] = [];
/** Their labels (the name a failure's stack gives at the thread boundary). */
const labels: string[] = [];
/** Tasks running asynchronously here (their Promise not settled yet). */
let inflight = 0;
/** Tasks this thread holds: running asynchronously, or taken and not started. */
function holding(): number {
  return inflight + notStarted.size;
}
let stopping = false;
let idleTimer: NodeJS.Timeout | undefined;
/** Batches run since this thread last returned to its loop. */
let rounds = 0;
const MAX_ROUNDS = 64;
/**
 * Mean synchronous run time per task (ms, moving average). Tiny tasks are
 * taken in batches; slow ones one at a time, so that a sibling thread that
 * frees up (or starts) meanwhile can take the next one.
 */
let meanRunMs = 0;
const SLOW_TASK_MS = 0.5;
/**
 * Cancellation. A task gets an AbortController only when it asks for its
 * signal (currentTask()); a cancel that arrives before it asks is kept in
 * `cancelled`, so the signal it then gets is already aborted.
 */
let running: number | undefined;  // the task whose synchronous part runs now
const controllers = new Map<number, AbortController>();
const cancelled = new Set<number>();

/** currentTask() in this thread: the task whose synchronous part runs now. */
function runningTask(): CurrentTask | undefined {
  const id = running;
  if (id === undefined) return undefined;
  return {
    id,
    get signal(): AbortSignal {
      let c = controllers.get(id);
      if (!c) {
        c = new AbortController();
        controllers.set(id, c);
        if (cancelled.has(id)) c.abort(new CancelledError());
      }
      return c.signal;
    },
  };
}

/** The owner asked to abort a task this thread holds. */
function cancelTask(taskId: number): void {
  for (const t of notStarted) {
    if (t.taskId !== taskId) continue;
    // Not started: it never runs. Its caller has its answer already.
    notStarted.delete(t);
    fail(taskId, new CancelledError());
    return;
  }
  const c = controllers.get(taskId);
  if (c) c.abort(new CancelledError());
  else cancelled.add(taskId);
}

function settled(taskId: number): void {
  if (controllers.size) controllers.delete(taskId);
  if (cancelled.size) cancelled.delete(taskId);
}

/**
 * Tasks this thread took but has not started, in the order it took them
 * (a Set iterates in insertion order): they start in that order.
 */
const notStarted = new Set<TaskMessage>();

/**
 * Before this thread parks in a blocking call, the tasks it took but has
 * not started go back to the queue, for its siblings. Its async tasks in
 * flight wait with it.
 */
function handBackUntaken(): void {
  for (const t of notStarted) {
    native.poolRequeue(poolId, threadId, t.taskId, t.fnId, t.payload, t.transfers);
  }
  notStarted.clear();
}

/** Set once this thread decided to exit: it takes no more work. */
let exiting = false;
/** Set when the pool no longer wants this thread (surplus, recycled): it exits once idle. */
let retiring = false;
let exitHookRan = false;

/** What the lifecycle hooks are given. */
const threadInfo = { threadId, pool: threadName.slice(0, threadName.lastIndexOf('#')) };

async function runHook(fnId: number): Promise<void> {
  const f = functions[fnId] ?? load(fnId);
  const hook = typeof f === 'function' ? f : await f;
  await hook(threadInfo);
}

function exitThread(): void {
  exiting = true;
  if (exitHook && !exitHookRan) {
    exitHookRan = true;
    runHook(exitHook).catch((e: unknown) => {
      process.stderr.write(`reactor-threads: onThreadExit failed in ${threadName}:\n${inspect(e)}\n`);
    }).finally(exitThread);
    return;
  }
  // Ends this thread only, once its results are in the owner's inbox.
  if (sendsAfterStdio) { afterStdio(exitThread); return; }
  process.exit(0);
}

/** Tasks this thread completed, for maxTasksPerThread and the heap check. */
let completedTasks = 0;
function countCompleted(): void {
  completedTasks++;
  if (retiring) return;
  const tooMany = maxTasks > 0 && completedTasks >= maxTasks;
  const tooBig = maxHeap > 0 && completedTasks % 64 === 0 && process.memoryUsage().heapUsed > maxHeap;
  if (tooMany || tooBig) {
    retiring = true;
    native.poolRecycle(poolId, threadId);  // takes nothing more; exits once idle
  }
}

/** Takes and runs tasks until the queue is empty or this thread is full. */
function pull(): void {
  if (exiting) return;
  if (idleTimer) { clearTimeout(idleTimer); idleTimer = undefined; }
  // Tasks waiting behind a load take room too: a thread must not hoard.
  while (!stopping && holding() < concurrency) {
    const room = meanRunMs > SLOW_TASK_MS ? 1 : concurrency - holding();
    const r = native.poolTake(poolId, threadId, room, holding() === 0 ? spinNs : 0);
    if (r === 0) {
      rounds = 0;
      if (holding() === 0) armIdleTimer();
      return;
    }
    if (r === 1) { stopping = true; break; }
    if (r === 2) { retiring = true; break; }
    const [batch, transfers] = Array.isArray(r) ? r : [r, undefined];
    const started = performance.now();
    let n = 0;
    for (const t of readTasks(batch, transfers)) { notStarted.add(t); n++; }
    runInOrder();
    meanRunMs = 0.8 * meanRunMs + 0.2 * ((performance.now() - started) / n);
    if (++rounds >= MAX_ROUNDS) {
      // Let this thread's own timers and I/O run before the next batch.
      rounds = 0;
      setImmediate(pull);
      return;
    }
  }
  if ((stopping || retiring) && holding() === 0) exitThread();
}

function armIdleTimer(): void {
  if (!Number.isFinite(idleTimeout)) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (native.poolTryRetire(poolId, threadId)) exitThread();
    // Refused (the pool is at its min, for now): ask again later, since
    // adjustPoolsize may lower the min while this thread idles.
    else armIdleTimer();
  }, idleTimeout);
  idleTimer.unref();
}

/**
 * Starts the tasks this thread took, strictly in the order it took them:
 * when the next one's function must load first, the rest wait for it.
 * Native counts on that order to tell, if this thread dies, which task
 * was running and which never started (Pool::RemoveThread).
 */
function runInOrder(): void {
  if (awaitingLoad) return;
  // A running task may hand the rest back (a blocking call): the set
  // empties, and the loop ends.
  for (const t of notStarted) {
    const f = functions[t.fnId];
    if (typeof f !== 'function') {
      waitForLoad(t, f ?? load(t.fnId));
      return;
    }
    run(t, f);
  }
}

/** The task this thread starts next, while its function loads. */
let awaitingLoad: TaskMessage | undefined;

function waitForLoad(t: TaskMessage, loading: Promise<Function>): void {
  awaitingLoad = t;
  native.poolTaskLoading(poolId, threadId, t.taskId, true);
  loading.then(
    () => { if (notStarted.has(t)) native.poolTaskLoading(poolId, threadId, t.taskId, false); },
    (e: unknown) => { if (notStarted.delete(t)) fail(t.taskId, e, t.fnId); },
  ).finally(() => {
    awaitingLoad = undefined;
    runInOrder();
    pull();
  });
}

function run(t: TaskMessage, f: Function): void {
  notStarted.delete(t);
  let result: unknown;
  running = t.taskId;
  try {
    const args = decodeValue(t.payload, t.transfers, thread.values) as unknown[];
    result = f(...args);
  } catch (e) {
    fail(t.taskId, e, t.fnId);
    return;
  } finally {
    running = undefined;
  }
  if (isThenable(result)) {
    inflight++;
    // Started: if this thread dies now, the task must not run again elsewhere.
    native.poolTaskStarted(poolId, threadId, t.taskId);
    Promise.resolve(result).then(
      (v) => { inflight--; succeed(t.taskId, v); pull(); },
      (e: unknown) => { inflight--; fail(t.taskId, e, t.fnId); pull(); });
  } else {
    succeed(t.taskId, result);
  }
}

function load(fnId: number): Promise<Function> {
  const bytes = native.poolGetFunction(poolId, fnId);
  const d = deserialize(bytes!) as FunctionDescriptor;
  labels[fnId] = d.label;
  const loading = d.kind === 'multiple' ? Promise.resolve(runMultiple) : loadFunction(d);
  functions[fnId] = loading;
  loading.then((f) => { functions[fnId] = f; }, () => { functions[fnId] = undefined; });
  return loading;
}

/** callMultipleInThread's runner: each call in order; an error stops the rest. */
function runMultiple(...calls: [number, unknown[]][]): unknown {
  let i = 0;
  const next = (): unknown => {
    while (i < calls.length) {
      const [fnId, args] = calls[i++]!;
      const f = functions[fnId];
      if (typeof f !== 'function') return (f ?? load(fnId)).then(() => { i--; return next(); });
      const r = f(...args);
      if (isThenable(r)) return Promise.resolve(r).then(next);
    }
    return undefined;
  };
  return next();
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null
    && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Results waiting for this thread's stdout/stderr to reach the owner. A
 * Worker's console output travels to the parent over a port; a result
 * must not overtake it, or the owner may settle (and the process exit)
 * before the task's own output is printed. Later results queue behind
 * those, so one thread's results keep their order.
 */
let sendsAfterStdio: (() => void)[] | undefined;

function post(taskId: number, status: TaskStatus, bytes: Buffer, transfers?: ArrayBuffer[]): void {
  if (!sendsAfterStdio && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) {
    native.poolComplete(poolId, threadId, taskId, status, bytes, transfers);
    return;
  }
  // Waiting: `bytes` may be the codec's scratch buffer, so keep a copy.
  const copy = Buffer.from(bytes);
  afterStdio(() => native.poolComplete(poolId, threadId, taskId, status, copy, transfers));
}

function afterStdio(send: () => void): void {
  if (sendsAfterStdio) { sendsAfterStdio.push(send); return; }
  sendsAfterStdio = [send];
  let waiting = 2;
  const flushed = (): void => {
    if (--waiting > 0) return;
    const sends = sendsAfterStdio!;
    sendsAfterStdio = undefined;
    for (const s of sends) s();
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

function succeed(taskId: number, value: unknown): void {
  settled(taskId);
  countCompleted();
  let encoded;
  try {
    encoded = encodeResult(value, thread.values);
  } catch (e) {
    fail(taskId, e instanceof ValueNotCloneableError ? e : new ValueNotCloneableError('the result', e));
    return;
  }
  post(taskId, TaskStatus.Fulfilled, encoded.bytes, encoded.transfers);
}

/**
 * A task's failure, its stack closed by a boundary line that names what
 * ran where: `--- add() in reactor#1 ---`; the caller's side adds its own
 * frames below it when asked to (deferToThread.with({ callerStack })).
 */
function fail(taskId: number, error: unknown, fnId?: number): void {
  settled(taskId);
  countCompleted();
  const encoded = encodeThrow(error);
  if (encoded.t === 'error' && encoded.stack !== undefined) {
    encoded.stack += `\n    --- ${fnId !== undefined ? `${labels[fnId] ?? 'a task'}()` : 'a task'} in ${threadName} ---`;
  }
  post(taskId, TaskStatus.Rejected, serialize(encoded));
}

// This thread lives to serve its pool: keep its loop alive until it exits.
thread.core.hold();
async function start(): Promise<void> {
  if (startHook) {
    try {
      await runHook(startHook);
    } catch (e) {
      // Not attached yet: the pool counts it as a thread that died while starting.
      process.stderr.write(`reactor-threads: onThreadStart failed in ${threadName}:\n${inspect(e)}\n`);
      process.exit(1);
    }
  }
  native.poolAttach(poolId, threadId);
  pull();
}
void start();
