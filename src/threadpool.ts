// ThreadPool: Twisted's twisted.python.threadpool.ThreadPool on Node
// Workers. The queue, the thread accounting and the wake-ups are native
// (native/pool.h); this class starts and joins the Worker threads, keeps
// the table of tasks in flight and settles them when their results arrive.
// Owner thread only (the thread that created the pool).
// Tests: test/threadpool-*.ts.
import { EventEmitter } from 'node:events';
import { AsyncResource } from 'node:async_hooks';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { serialize } from 'node:v8';
import { decodeThrow, PoolStarvedError, PoolStoppedError, QueueFullError, TaskTimeoutError, ThreadDiedError, type EncodedThrow } from './errors.js';
import { describe, type AnyFunction, type TaskFunction } from './functions.js';
import { thisThread, type ThreadRuntime } from './thread.js';
import { native, type NativePoolCounts, type TimeStats } from './native.js';
import { resolveBounds, resolveOptions, type ResolvedOptions, type ThreadPoolOptions } from './pool-options.js';
import type { PoolThreadData } from './pool-thread-data.js';
import { reportError } from './report.js';
import { decodeValue, encodeArgs } from './codec.js';
import { CallStatus, MessageKind, TaskStatus, type FunctionDescriptor, type InboxMessage } from './wire.js';

export type { ThreadPoolOptions, ThreadInfo } from './pool-options.js';

/** How a submitted task's outcome is delivered, on the owner thread. */
export interface TaskSink {
  settle(ok: boolean, value: unknown): void;
}

/** The internal submission path, shared with deferToThread and callMultipleInThread. */
export const kSubmit = Symbol('reactor-threads.submit');
export const kCancel = Symbol('reactor-threads.cancel');
export const kTimeouts = Symbol('reactor-threads.timeouts');
/** Function id of callMultipleInThread's runner in a pool. */
const kMultiple: FunctionDescriptor = { kind: 'multiple', label: 'callMultipleInThread' };

const workerPath = join(__dirname, 'worker.js');
/** An idle thread spins this long for the next task before it waits in its loop. */
const SPIN_NS = 20_000;

interface ThreadHandle {
  readonly threadId: number;
  readonly worker: Worker;
  error: unknown;
  /** Why the pool terminated it, if it did. */
  terminatedBecause?: string;
}

let nextTaskId = 1;

/** pool.stats(): the native counts, and queue wait and run time from native timestamps (ms). */
export interface PoolStats extends NativePoolCounts {
  /** Calls withdrawn or aborted by their signal or a timeout. */
  cancelled: number;
  /** Threads that exited unexpectedly (a task's process.exit(), an uncaught error, a cancelled task that ignored its signal). */
  threadsDied: number;
  /** From enqueue to the moment a thread took the task. */
  queueWait: TimeStats;
  /** From the moment a thread took the task to its result. */
  runTime: TimeStats;
  /** Blocking and non-blocking calls this thread's reactor served for threads (all pools). */
  bridgeCallsServed: number;
}

/** The pool's `(ok, result)` callback; runs on the pool's owner thread. */
export type OnResult<R> = (success: boolean, result: R | unknown) => void;

/**
 * A pool of threads, each a `worker_threads` Worker with its own event
 * loop, fed from a native queue. Unless noted, call it from the thread that
 * created it. Emits 'error' with the errors of fire-and-forget calls
 * (callInThread, callMultipleInThread, a throwing onResult); with no
 * listener they are written to stderr.
 */
export class ThreadPool extends EventEmitter {
  /** This thread's runtime: the reactor that delivers the pool's results. */
  readonly #thread: ThreadRuntime = thisThread();
  readonly #options: ResolvedOptions;
  readonly #poolId: number;
  readonly #threads = new Map<number, ThreadHandle>();
  readonly #pending = new Map<number, TaskSink>();
  /** Reactor callables handed to a task, released when it settles. */
  readonly #taskHandles = new Map<number, number[]>();
  readonly #fnIds = new WeakMap<object, number>();
  #started = false;
  #joined = false;
  #stopped: Promise<void> | undefined;
  #onAllExited: (() => void) | undefined;
  #starvationTimer: NodeJS.Timeout | undefined;
  #destroyed = false;
  #draining = false;
  /** Threads in a row that died before they attached (a bad execArgv, a crashing preload). */
  #startFailures = 0;
  #cancelled = 0;
  #threadsDied = 0;
  #roomWaiters: (() => void)[] = [];
  /** A call was refused for a full queue and 'drain' has not been announced since. */
  #full = false;

  readonly #hooks: { start: number; exit: number };

  constructor(options?: ThreadPoolOptions) {
    super();
    this.#options = resolveOptions(options);
    this.#poolId = native.poolCreate(this.#options.min, this.#options.max);
    this.#thread.core.addSink(this.#poolId, { deliver: (m) => this.#deliver(m) });
    // Hooks are checked now (a FunctionNotSendableError here), not in each thread.
    this.#hooks = {
      start: this.#options.onThreadStart ? this.#fnId(this.#options.onThreadStart) : 0,
      exit: this.#options.onThreadExit ? this.#fnId(this.#options.onThreadExit) : 0,
    };
  }

  /** Threads kept when idle. */
  get min(): number { return this.#options.min; }
  /** Threads at most. */
  get max(): number { return this.#options.max; }
  get name(): string { return this.#options.name; }
  /** True between start() and stop(). */
  get started(): boolean { return this.#started; }
  /** True once stop() was called. */
  get joined(): boolean { return this.#joined; }
  /** Threads alive or starting. */
  get workers(): number { return this.#threads.size; }
  /** Threads holding at least one task. */
  get busy(): number { return this.#counts()?.busy ?? 0; }
  /** Started threads holding no task. */
  get idle(): number { return this.#counts()?.idle ?? 0; }
  /** Tasks waiting for a thread. */
  get queued(): number { return this.#counts()?.queued ?? 0; }

  /** The native counts; undefined once stop() has finished and the native pool is gone. */
  #counts(): NativePoolCounts | undefined {
    return this.#destroyed ? undefined : native.poolCounts(this.#poolId);
  }

  /** Counts and timings; reading them is the only cost. */
  stats(): PoolStats {
    const c = this.#counts();
    const t = this.#destroyed ? undefined : native.poolTimes(this.#poolId);
    const none: TimeStats = { count: 0, min: 0, mean: 0, p50: 0, p99: 0, max: 0 };
    const zero: NativePoolCounts = { threads: 0, busy: 0, idle: 0, queued: 0, submitted: 0, completed: 0, failed: 0,
      functions: 0, affinityKeys: 0 };
    return {
      ...(c ?? zero),
      cancelled: this.#cancelled, threadsDied: this.#threadsDied,
      queueWait: t?.queueWait ?? none, runTime: t?.run ?? none, bridgeCallsServed: this.#thread.server.served,
    };
  }

  /** Resolves when the queue has room for another call (at once if it has). */
  whenRoom(): Promise<void> {
    if (this.#destroyed || this.queued < this.#options.maxQueue) return Promise.resolve();
    this.#full = true;
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Starts `min` threads, and more for work queued before now (up to `max`). */
  start(): void {
    if (this.#joined) throw new PoolStoppedError('a stopped ThreadPool cannot be started again');
    if (this.#started) return;
    this.#started = true;
    const wanted = Math.min(this.max, Math.max(this.min, native.poolCounts(this.#poolId).queued));
    while (this.#threads.size < wanted) this.#startThread();
  }

  /**
   * Stops the pool: running tasks finish; queued ones are rejected with a
   * PoolStoppedError (or run first, with `{ drain: true }`); later calls
   * are rejected. Resolves when every thread has exited.
   */
  stop(options?: { drain?: boolean }): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#joined = true;
    this.#started = false;
    clearTimeout(this.#starvationTimer);
    this.#starvationTimer = undefined;
    const drain = options?.drain === true;
    this.#draining = drain;
    for (const id of native.poolStop(this.#poolId, drain)) {
      this.#settle(id, false, new PoolStoppedError('the task was still queued when stop() was called'));
    }
    if (drain && this.#threads.size === 0 && this.#pending.size > 0) {
      // Work queued before start() and drained by stop(): it needs a thread.
      this.#startThread();
    }
    for (const t of this.#threads.values()) t.worker.ref();
    this.#stopped = new Promise<void>((resolve) => {
      this.#onAllExited = resolve;
      if (this.#threads.size === 0) resolve();
    }).then(() => {
      // A thread's last results can still be in the inbox when its exit
      // event arrives: deliver them before the pool's sink goes away.
      this.#thread.core.drainNow();
      for (const id of [...this.#pending.keys(), ...this.#taskHandles.keys()]) {
        this.#settle(id, false, new PoolStoppedError('the pool stopped before the task settled'));
      }
      this.#thread.core.removeSink(this.#poolId);
      native.poolDestroy(this.#poolId);
      this.#destroyed = true;
    });
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Changes the bounds. Unspecified ones keep their value. A RangeError
   * when min < 0 or min > max. Extra threads exit once they are idle.
   */
  adjustPoolsize(minThreads?: number, maxThreads?: number): void {
    const { min, max } = resolveBounds(minThreads, maxThreads, this.#options);
    this.#options.min = min;
    this.#options.max = max;
    if (this.#destroyed) return;  // stopped and gone: only the numbers change
    native.poolSetBounds(this.#poolId, min, max);
    if (!this.#started) return;
    const queued = native.poolCounts(this.#poolId).queued;
    const wanted = Math.min(max, Math.max(min, queued));
    while (this.#threads.size < wanted) this.#startThread();
    // Threads parked in blocking calls take nothing: queued work may want one more.
    if (queued > 0) this.#meetDemand();
  }

  /** Runs `f(...args)` in a thread; errors go to the pool's 'error' listeners, else stderr. */
  callInThread<F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): void {
    this[kSubmit](f, args, {
      settle: (ok, value) => { if (!ok) reportError(this, value, 'callInThread'); },
    });
  }

  /**
   * Runs `f(...args)` in a thread, then `onResult(true, result)` or
   * `onResult(false, error)` on this pool's owner thread, in the async
   * context of this call. An error thrown by onResult goes to the pool's
   * 'error' listeners, else stderr.
   */
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: OnResult<Awaited<ReturnType<F>>>, f: TaskFunction<F>, ...args: Parameters<F>): void {
    if (typeof onResult !== 'function') throw new TypeError('onResult must be a function');
    const bound = AsyncResource.bind(onResult);
    this[kSubmit](f, args, {
      settle: (ok, value) => {
        try { bound(ok, value); } catch (e) { reportError(this, e, 'onResult'); }
      },
    });
  }

  /**
   * Internal: queue a task whose outcome goes to `sink`. Never throws; a
   * failure before queueing reaches the sink asynchronously. Returns the
   * task id, or 0 when nothing was queued.
   */
  [kSubmit](f: unknown, args: readonly unknown[], sink: TaskSink, multiple?: boolean, affinity?: string): number {
    let handles: number[] | undefined;
    let id: number;
    let demand: number;
    try {
      if (this.#joined) throw new PoolStoppedError('the thread pool is stopped; the call was not run');
      let fnId: number;
      let payload: readonly unknown[] = args;
      if (multiple) {
        fnId = this.#fnId(kMultiple, kMultiple);
        payload = (args as [unknown, unknown[]][]).map(([g, a]) => [this.#fnId(g), a]);
      } else {
        fnId = this.#fnId(f);
      }
      // Functions among the arguments stay here; the thread gets proxies.
      const { bytes, transfers } = encodeArgs(payload, this.#thread.values, handles = []);
      id = nextTaskId++;
      demand = native.poolPush(this.#poolId, id, fnId, bytes, transfers, this.#options.maxQueue, affinity);
      if (demand === -2) {
        this.#full = true;
        throw new QueueFullError(this.#options.maxQueue);
      }
    } catch (e) {
      // Nothing was queued.
      if (handles) this.#thread.callables.release(handles);
      queueMicrotask(() => sink.settle(false, e));
      return 0;
    }
    // Queued: from here on only #settle ends it (its result is delivered
    // on this thread, later, so registering after the push is safe).
    this.#pending.set(id, sink);
    if (handles && handles.length > 0) this.#taskHandles.set(id, handles);
    this.#thread.core.hold();
    if (demand > 0) this.#meetDemand();
    return id;
  }

  /**
   * Internal: withdraw a task, settling it with `reason` through the one
   * settle path. A queued one is removed and never runs. One a thread
   * holds is asked to abort (its signal fires); its caller has its answer
   * now, its later result is dropped, and if it still runs after
   * cancelGrace its thread is terminated and replaced. A task that already
   * completed (its result on its way) is left to that result.
   */
  [kCancel](taskId: number, reason: unknown): void {
    if (this.#destroyed || !this.#pending.has(taskId)) return;
    const r = native.poolCancel(this.#poolId, taskId);
    if (r === 0) return;
    this.#cancelled++;
    this.#settle(taskId, false, reason, r === 1);
    if (r > 1) this.#terminateIfStillRunning(taskId, r - 1);
  }

  #terminateIfStillRunning(taskId: number, threadId: number): void {
    const grace = this.#options.cancelGrace;
    if (!Number.isFinite(grace)) return;
    setTimeout(() => {
      const handle = this.#threads.get(threadId);
      // Settled already: native alone knows whether a thread still runs it.
      if (!handle || this.#destroyed || native.poolTakenAt(this.#poolId, taskId) === 0) return;
      handle.terminatedBecause = `a cancelled task ignored its signal for ${grace} ms`;
      void handle.worker.terminate();
    }, grace).unref();
  }

  /**
   * Internal: the call's timeouts. queueTimeout counts from now and
   * withdraws a task still queued; runTimeout counts from the moment a
   * thread takes the task, then cancels it as [kCancel] does. Either
   * settles the task with a TaskTimeoutError.
   */
  [kTimeouts](taskId: number, queueTimeout: number | undefined, runTimeout: number | undefined): void {
    if (queueTimeout !== undefined) {
      setTimeout(() => {
        if (!this.#destroyed && this.#pending.has(taskId) && native.poolCancel(this.#poolId, taskId, true) === 1) {
          this.#cancelled++;
          this.#settle(taskId, false, new TaskTimeoutError('queue', queueTimeout));
        }
      }, queueTimeout).unref();
    }
    if (runTimeout === undefined) return;
    const check = (): void => {
      if (this.#destroyed || !this.#pending.has(taskId)) return;
      const takenAt = native.poolTakenAt(this.#poolId, taskId);
      // Still queued: look again soon; the clock starts when a thread takes it.
      if (takenAt === 0) { setTimeout(check, Math.min(runTimeout, 10)).unref(); return; }
      const left = takenAt + runTimeout - native.now();
      if (left > 0) { setTimeout(check, Math.ceil(left)).unref(); return; }
      this[kCancel](taskId, new TaskTimeoutError('run', runTimeout));
    };
    setTimeout(check, Math.min(runTimeout, 10)).unref();
  }

  #fnId(f: unknown, descriptor?: FunctionDescriptor): number {
    const key = (typeof f === 'function' || (typeof f === 'object' && f !== null)) ? f as object : undefined;
    const known = key && this.#fnIds.get(key);
    if (known) return known;
    const d = descriptor ?? describe(f);
    const id = native.poolDefine(this.#poolId, serialize(d));
    if (key) this.#fnIds.set(key, id);
    return id;
  }

  /** Queued work no thread took: start a thread if below max, else watch for starvation. */
  #meetDemand(): void {
    if (!this.#started) return;
    if (this.#threads.size < this.max) {
      this.#startThread();
      return;
    }
    if (this.#starvationTimer || !Number.isFinite(this.#options.starvationTimeout)) return;
    if (native.poolParkedThreads(this.#poolId) < this.#threads.size) return;
    this.#starvationTimer = setTimeout(() => {
      this.#starvationTimer = undefined;
      if (this.#joined) return;  // stop() ends the waits itself, and may have destroyed the pool
      // Starved only if every thread has waited in the same call all along:
      // threads that park now and then in short calls make progress.
      const parked = native.poolParkedThreads(this.#poolId, this.#options.starvationTimeout);
      if (parked < this.#threads.size || native.poolCounts(this.#poolId).queued === 0) return;
      reportError(this, new PoolStarvedError(
        `all ${parked} threads of pool '${this.name}' waited ${this.#options.starvationTimeout} ms on their owner `
        + 'while tasks were queued; their blocking calls were ended'), 'the pool');
      native.poolWakeParked(this.#poolId, CallStatus.Starved);
    }, this.#options.starvationTimeout);
    this.#starvationTimer.unref();
  }

  #deliver(m: InboxMessage): void {
    if (m.kind === MessageKind.PoolDemand) {
      this.#meetDemand();
      return;
    }
    if (this.#full) this.#announceRoom();
    let ok = m.status === TaskStatus.Fulfilled;
    let value: unknown;
    try {
      value = decodeValue(m.payload, m.transfers, this.#thread.values);
      if (!ok) value = decodeThrow(value as EncodedThrow);
    } catch (e) {
      ok = false;
      value = e;
    }
    this.#settle(m.id, ok, value);
  }

  /** A result came back, so threads are taking tasks: once there is room, wake those waiting for it. */
  #announceRoom(): void {
    if (this.queued >= this.#options.maxQueue) return;
    this.#full = false;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
    this.emit('drain');
  }

  /**
   * The one path by which a task ends for its caller: its sink is answered
   * once and the loop's hold released. With `taskOver` false (a running
   * task its caller gave up on) the reactor callables it carries stay
   * callable until its thread is done with it: its result, or its death.
   */
  #settle(taskId: number, ok: boolean, value: unknown, taskOver = true): void {
    if (taskOver) {
      const handles = this.#taskHandles.get(taskId);
      if (handles) {
        this.#taskHandles.delete(taskId);
        this.#thread.callables.release(handles);
      }
    }
    const sink = this.#pending.get(taskId);
    if (!sink) return;
    this.#pending.delete(taskId);
    this.#thread.core.release();
    sink.settle(ok, value);
  }

  #startThread(): void {
    const o = this.#options;
    const threadId = native.poolAddThread(this.#poolId);
    const data: PoolThreadData = {
      kind: 'reactor-threads.pool-thread', poolId: this.#poolId, owner: this.#thread.core.id, threadId,
      threadName: `${o.name}#${threadId}`,
      concurrency: o.concurrency, idleTimeout: o.idleTimeout, spinNs: SPIN_NS,
      startHook: this.#hooks.start, exitHook: this.#hooks.exit,
      maxTasks: o.maxTasksPerThread, maxHeap: o.maxHeapPerThread,
    };
    let worker: Worker;
    try {
      worker = new Worker(workerPath, {
        workerData: data, name: data.threadName,
        ...(o.resourceLimits && { resourceLimits: o.resourceLimits }),
        ...(o.env && { env: o.env }),
        ...(o.execArgv && { execArgv: o.execArgv }),
      });
    } catch (e) {
      // Node refused the Worker (invalid execArgv, resourceLimits…).
      native.poolRemoveThread(this.#poolId, threadId);
      this.#cannotStartThreads(e);
      return;
    }
    // The owner's loop is kept alive by tasks in flight, not by threads.
    if (!this.#joined) worker.unref();
    const handle: ThreadHandle = { threadId, worker, error: undefined };
    this.#threads.set(threadId, handle);
    worker.on('error', (e) => { handle.error = e; });
    worker.on('exit', (code) => this.#threadExited(handle, code));
  }

  /** No thread can start: the queued tasks fail now instead of waiting forever. */
  #cannotStartThreads(cause: unknown): void {
    this.#startFailures = 0;
    for (const id of native.poolClearQueue(this.#poolId)) {
      this.#settle(id, false, new ThreadDiedError('no pool thread could start to run the task', undefined, cause));
    }
  }

  #threadExited(handle: ThreadHandle, code: number): void {
    this.#threads.delete(handle.threadId);
    // Tasks it took but never started are back in the queue; these died with it.
    const removed = native.poolRemoveThread(this.#poolId, handle.threadId);
    const { died: held, attached } = removed;
    if (attached) {
      this.#startFailures = 0;
    } else if (++this.#startFailures >= 3) {
      this.#cannotStartThreads(handle.error ?? new Error(`a pool thread exited with code ${code} while starting`));
    }
    // A thread that was not done (it held tasks, or ended by an error, a
    // termination or a non-zero exit) died; one that chose to exit did not.
    const { requeued } = removed;
    if (held.length > 0 || requeued > 0 || code !== 0 || handle.error !== undefined || handle.terminatedBecause) {
      this.#threadsDied++;
    }
    if (held.length > 0) {
      const why = handle.terminatedBecause ?? (handle.error !== undefined ? 'an uncaught error' : `exit code ${code}`);
      for (const id of held) {
        this.#settle(id, false, new ThreadDiedError(
          `the thread running the task exited (${why}) before the task settled`, code, handle.error));
      }
    } else if (handle.error !== undefined && attached && !handle.terminatedBecause) {
      // (One that died while starting is reported through the tasks it fails.)
      reportError(this, new ThreadDiedError('an idle pool thread died', code, handle.error), 'a pool thread');
    }
    if (this.#joined) {
      // Drained work still queued needs a thread even now.
      if (this.#draining && this.#threads.size === 0 && native.poolCounts(this.#poolId).queued > 0) {
        this.#startThread();
      }
      if (this.#threads.size === 0) this.#onAllExited?.();
      return;
    }
    // Replace it if work waits (its untouched tasks were re-queued) or the pool is below its floor.
    const queued = native.poolCounts(this.#poolId).queued;
    if (this.#started && this.#threads.size < Math.min(this.max, Math.max(this.min, queued))) {
      this.#startThread();
    }
  }
}
