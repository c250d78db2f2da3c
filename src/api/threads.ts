// Twisted's twisted.internet.threads: deferToThread, deferToThreadPool and
// callMultipleInThread. Each returns a Promise that settles on the calling
// thread, in the caller's async context, and reports every failure by
// rejecting. Caller's thread. Tests: test/defer-to-thread.ts,
// test/defer-to-thread-pool.ts, test/call-multiple-in-thread.ts.
import { CancelledError, withCallerFrames } from '../errors/errors.js';
import { thisThread } from '../runtime/this-thread.js';
import type { AnyFunction, TaskFunction } from '../base/public/functions.js';
import type {
  BlockingCallFromThread, BlockingCallOptions, Call, CallOptions, DeferToThread, DeferToThreadPool, Reactor, ThreadPoolLike,
  ThreadPoolWithOptions,
} from '../base/public/calls.js';
import type { OnResult } from '../base/public/pool.js';
import { ownPool, reactor } from './reactor.js';
import { reportError } from '../errors/report.js';
import { kSubmit, kSubmitWithOptions, ThreadPool } from '../pool/threadpool.js';
import { checkOptions, POOL_OPTIONS, refuseOptions, refuseUnknownOptions } from '../pool/call-options.js';

/**
 * The resolve function of the Promise just created with captureResolve as
 * its executor: one shared executor, so a call allocates no closure (nor
 * its context) to learn its resolve function.
 */
let captured: ((value: unknown) => void) | undefined;
function captureResolve(resolve: (value: never) => void): void { captured = resolve as (value: unknown) => void; }

function run<R>(r: unknown, threadpool: unknown, f: unknown, args: unknown[], options: CallOptions | undefined): Promise<R> {
  if (options?.callerStack) return withCallerStack(run<R>(r, threadpool, f, args, { ...options, callerStack: false }));
  if (r === reactor && threadpool instanceof ThreadPool && (options === undefined || (options.signal === undefined
    && options.queueTimeout === undefined && options.runTimeout === undefined && options.affinity === undefined
    && options.flattenInstances === undefined && options.attempts === undefined && options.backoff === undefined
    && options.priority === undefined))) {
    // The resolve function alone is the sink (TaskSink): a failure comes
    // as a rejected Promise, which this one adopts.
    const promise = new Promise<R>(captureResolve);
    const resolve = captured!;
    // (Cleared at once: it would keep this call's Promise, and its result, alive.)
    captured = undefined;
    threadpool[kSubmit](f, args, resolve);
    return promise;
  }
  return runChecked(r, threadpool, f, args, options);
}

/** Awaits `p` in an async frame, so that a failure can be given the awaiting caller's async frames. */
async function withCallerStack<R>(p: Promise<R>): Promise<R> {
  try {
    return await p;
  } catch (e) {
    throw withCallerFrames(e, withCallerStack, 'called from');
  }
}

/**
 * The general path: checks its arguments (rejecting) and hands the call's
 * options to its pool: a ThreadPool's own path, a pool's
 * callInThreadWithOptions(), or, for a pool without it, a signal handled
 * here and any other option refused.
 */
function runChecked<R>(r: unknown, threadpool: unknown, f: unknown, args: unknown[], options: CallOptions | undefined): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (r !== reactor) throw new TypeError('deferToThreadPool(reactor, …): pass the reactor exported by reactor-threads');
    // (A Promise settles once: a pool's second onResult is ignored.)
    const onResult: OnResult<unknown> = (ok, value) => { if (ok) resolve(value as R); else reject(value); };
    if (threadpool instanceof ThreadPool) {
      threadpool[kSubmitWithOptions](f, args, { settle: onResult }, options);
      return;
    }
    if (typeof threadpool !== 'object' || threadpool === null
      || typeof (threadpool as ThreadPoolLike).callInThreadWithCallback !== 'function') {
      throw new TypeError('threadpool must have a callInThreadWithCallback(onResult, f, ...args) method');
    }
    if (options !== undefined && typeof (threadpool as ThreadPoolWithOptions).callInThreadWithOptions === 'function') {
      // The pool honours or refuses (by throwing) each option; the signal is its own to watch.
      const { callerStack, ...forwarded } = options;
      (threadpool as ThreadPoolWithOptions).callInThreadWithOptions(forwarded, onResult, f, ...args);
      return;
    }
    refuseOptions(options, POOL_OPTIONS,
      (them) => `this pool cannot honour ${them} (it has no callInThreadWithOptions() method to receive ${them})`);
    // A pool without options: the first of its callback and the signal settles.
    const signal = options?.signal;
    if (signal?.aborted) throw new CancelledError(signal.reason);
    const onAbort = (): void => reject(new CancelledError(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    (threadpool as ThreadPoolLike).callInThreadWithCallback((ok, value) => {
      signal?.removeEventListener('abort', onAbort);
      onResult(ok, value);
    }, f, ...args);
  });
}

// Documented in index.ts, which exports it with its public type.
export const deferToThread: DeferToThread = Object.assign(
  <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> =>
    run(reactor, safePool(), f, args, undefined),
  {
    with(options: CallOptions) {
      const o = checkOptions(options);
      return <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> =>
        run(reactor, safePool(), f, args, o);
    },
  });

/** reactor.getThreadPool(), or its error as the rejection. */
function safePool(): ThreadPool | Error {
  try { return ownPool(); } catch (e) { return e instanceof Error ? e : new Error(String(e)); }
}

// Documented in index.ts, which exports it with its public type.
export const deferToThreadPool: DeferToThreadPool = Object.assign(
  <F extends AnyFunction>(r: Reactor, threadpool: ThreadPoolLike, f: TaskFunction<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> =>
    run(r, threadpool, f, args, undefined),
  {
    with(options: CallOptions) {
      const o = checkOptions(options);
      return <F extends AnyFunction>(r: Reactor, threadpool: ThreadPoolLike, f: TaskFunction<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> =>
        run(r, threadpool, f, args, o);
    },
  });

// Documented in index.ts, which exports it with its public type.
export function callMultipleInThread(list: readonly Call[]): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    if (!Array.isArray(list) || list.some((c) => !Array.isArray(c) || (c[1] !== undefined && !Array.isArray(c[1])))) {
      throw new TypeError('callMultipleInThread(list): list must be an array of [f, args?] pairs');
    }
    const pool = ownPool();
    pool[kSubmit](undefined, list.map(([f, a]) => [f, a ?? []]), {
      settle: (ok, value) => {
        if (ok) { resolve(); return; }
        reportError(pool, value, 'callMultipleInThread');
        reject(value);
      },
    }, true);
  });
  done.catch(() => { /* reported above; awaiting it still sees the error */ });
  return done;
}

/**
 * The options of a blocking call, either way (blockingCallFromThread,
 * blockingCallInThread): an object, whose `timeout` is a positive number
 * of milliseconds if given.
 */
export function checkBlockingOptions(options: { timeout?: number }, known: readonly string[] = ['timeout']): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  refuseUnknownOptions(options, known, { runTimeout: 'timeout', queueTimeout: 'timeout' });
  const { timeout } = options;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    throw new RangeError('options.timeout must be a number of milliseconds > 0');
  }
}

function checkReactor(r: unknown): void {
  if (r !== reactor) throw new TypeError('blockingCallFromThread(reactor, …): pass the reactor exported by reactor-threads');
}

// Documented in index.ts, which exports it with its public type.
export const blockingCallFromThread: BlockingCallFromThread = Object.assign(
  <F extends AnyFunction>(r: Reactor, f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>> => {
    checkReactor(r);
    return thisThread().caller.call(f, args, undefined) as Awaited<ReturnType<F>>;
  },
  {
    with(options: BlockingCallOptions) {
      checkBlockingOptions(options);
      return <F extends AnyFunction>(r: Reactor, f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>> => {
        checkReactor(r);
        return thisThread().caller.call(f, args, options) as Awaited<ReturnType<F>>;
      };
    },
  });
