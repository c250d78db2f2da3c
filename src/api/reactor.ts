// The reactor as seen from the calling thread (DESIGN.md section 2): its
// pool side (getThreadPool, suggestThreadPoolSize, callInThread) is this
// thread's own; its bridge side (callFromThread, the target of
// blockingCallFromThread) is the reactor this thread serves. Runs on every
// thread. Tests: test/reactor.ts.
import { availableParallelism } from 'node:os';
import { describe, isModuleFunction, loadFunction, type AnyFunction, type TaskFunction } from '../identity/functions.js';
import { callReported, reportToStderr } from '../errors/report.js';
import { thisThread } from '../runtime/this-thread.js';
import { ThreadPool } from '../pool/threadpool.js';

export interface Reactor {
  /** This thread's own pool, created and started on first use (min 0, max = available parallelism). */
  getThreadPool(): ThreadPool;
  /** Sets the max size of this thread's pool (Twisted: suggestThreadPoolSize). */
  suggestThreadPoolSize(size: number): void;
  /** Runs `f(...args)` on this thread's pool, fire-and-forget (errors to the pool's 'error' listeners, else stderr). */
  callInThread<F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): void;
  /**
   * Runs `f(...args)` on the reactor's loop without waiting. `f` is a
   * function, a reactor callable's proxy or a fromModule() reference. On
   * the reactor's own thread it is scheduled for the loop's next turn
   * (setImmediate), in the current async context, its arguments passed
   * as they are; calls made there run in the order they were made. From another thread it
   * goes to the reactor this thread serves; calls from one thread run in
   * the order they were made, and before that thread's later task
   * results. An error thrown by
   * `f` (or a rejection of the Promise it returns) is written to the
   * reactor's stderr, on either path.
   */
  callFromThread<F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): void;
  /** True only on a thread that serves itself (the main thread). */
  isInIOThread(): boolean;
  /**
   * Keeps `f` callable from threads until releaseCallable(f): passed to
   * any number of tasks it arrives as the same handle. Without it, a
   * function passed to a task is callable until that task settles.
   */
  keepCallable<F extends Function>(f: F): F;
  /** Ends keepCallable(f); returns false if `f` was not kept. */
  releaseCallable(f: Function): boolean;
}

const OWN_CALL = 'a function called with callFromThread';
/** Set while an own-thread call waits for its module to load: later calls queue behind it. */
let ownCallsTail: Promise<void> | undefined;

/** callFromThread on the reactor's own thread: next turn, in order, failures to stderr. */
function callOnOwnThread(f: TaskFunction, args: readonly unknown[]): void {
  if (typeof f === 'function' && !ownCallsTail) {
    setImmediate(callReported, f, args, OWN_CALL);
    return;
  }
  const loading = typeof f === 'function' ? f : loadFunction(describe(f));
  const tail: Promise<void> = (ownCallsTail ?? Promise.resolve())
    .then(() => loading)
    .then((g) => new Promise<void>((ran) => setImmediate(() => { callReported(g as AnyFunction, args, OWN_CALL); ran(); })),
      (e: unknown) => reportToStderr(e, OWN_CALL));
  ownCallsTail = tail;
  void tail.then(() => { if (ownCallsTail === tail) ownCallsTail = undefined; });
}

let pool: ThreadPool | undefined;
let suggestedMax: number | undefined;

export const reactor: Reactor = {
  getThreadPool(): ThreadPool {
    if (!pool || pool.joined) {
      pool = new ThreadPool({
        minThreads: 0,
        maxThreads: suggestedMax ?? Math.max(1, availableParallelism()),
        name: 'reactor',
      });
      pool.start();
    }
    return pool;
  },
  suggestThreadPoolSize(size: number): void {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new RangeError(`suggestThreadPoolSize(size): size must be an integer >= 1, got ${String(size)}`);
    }
    suggestedMax = size;
    if (pool && !pool.joined) pool.adjustPoolsize(Math.min(pool.min, size), size);
  },
  callInThread(f, ...args) {
    this.getThreadPool().callInThread(f, ...args);
  },
  callFromThread(f, ...args) {
    if (typeof f !== 'function' && !isModuleFunction(f)) {
      throw new TypeError('callFromThread(f): f must be a function or a fromModule() reference');
    }
    const t = thisThread();
    // A proxy of another thread's callable runs on that thread: posted, not
    // called here (calling a proxy is a blocking call).
    const proxyOf = t.callables.proxyTarget(f)?.[0];
    if (servesItself() && (proxyOf === undefined || proxyOf === t.core.id)) callOnOwnThread(f, args);
    else t.caller.post(f, args);
  },
  isInIOThread(): boolean {
    return servesItself();
  },
  keepCallable<F extends Function>(f: F): F {
    return thisThread().callables.keep(f);
  },
  releaseCallable(f: Function): boolean {
    return thisThread().callables.unkeep(f);
  },
};

/** True when this thread serves itself (it is the IO thread). */
function servesItself(): boolean {
  const t = thisThread();
  return t.servedReactor() === t.core.id;
}
