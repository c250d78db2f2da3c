// The reactor as seen from the calling thread (DESIGN.md section 2): its
// pool side (getThreadPool, suggestThreadPoolSize, callInThread) is this
// thread's own; its bridge side (callFromThread, the target of
// blockingCallFromThread) is the reactor this thread serves. Runs on every
// thread. Tests: test/reactor.ts.
import { availableParallelism } from 'node:os';
import { describe, isModuleFunction, loadFunction } from '../identity/functions.js';
import type { AnyFunction, TaskFunction } from '../base/public/functions.js';
import type { Reactor } from '../base/public/calls.js';
import { callReported, reportToStderr } from '../errors/report.js';
import { thisThread } from '../runtime/this-thread.js';
import { kGone, ThreadPool } from '../pool/threadpool.js';

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

/**
 * reactor.getThreadPool(), as the class: what the package's own calls
 * submit to. A pool whose stop() has not finished is still the one: calls
 * made meanwhile reject with PoolStoppedError, and a second stop() (a
 * second SIGTERM) reaches the stop under way, its timeout shortening a
 * drain. Made anew only once that stop has finished (a test file that
 * stops it, then calls again). (Before, a new pool came at once, and ran
 * calls made during a graceful shutdown: helper-156.)
 */
export function ownPool(): ThreadPool {
  if (!pool || pool[kGone]) {
    pool = new ThreadPool({
      minThreads: 0,
      maxThreads: suggestedMax ?? Math.max(1, availableParallelism()),
      name: 'reactor',
    });
    pool.start();
  }
  return pool;
}

export const reactor: Reactor = {
  getThreadPool: ownPool,
  suggestThreadPoolSize(size: number): void {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new RangeError(`suggestThreadPoolSize(size): size must be an integer >= 1, got ${String(size)}`);
    }
    suggestedMax = size;
    if (pool && !pool.joined) pool.adjustPoolsize(Math.min(pool.min, size), size);
  },
  callInThread(f, ...args) {
    ownPool().callInThread(f, ...args);
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
