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
} from '../base/public/calls.js';
import { ownPool, reactor } from './reactor.js';
import { reportError } from '../errors/report.js';
import { kCancel, kSubmit, kTimeouts, ThreadPool, type TaskSink } from '../pool/threadpool.js';

function checkOptions(options: unknown): CallOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { signal } = options as CallOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  const { callerStack, queueTimeout, runTimeout, affinity } = options as CallOptions;
  if (affinity !== undefined && typeof affinity !== 'string' && typeof affinity !== 'number') {
    throw new TypeError('options.affinity must be a string or a number');
  }
  if (callerStack !== undefined && typeof callerStack !== 'boolean') throw new TypeError('options.callerStack must be a boolean');
  const { flattenInstances } = options as CallOptions;
  if (flattenInstances !== undefined && typeof flattenInstances !== 'boolean') {
    throw new TypeError('options.flattenInstances must be a boolean');
  }
  for (const [name, v] of [['queueTimeout', queueTimeout], ['runTimeout', runTimeout]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) {
      throw new RangeError(`options.${name} must be a finite number of milliseconds > 0`);
    }
  }
  return options as CallOptions;
}

/**
 * The resolve function of the Promise just created with captureResolve as
 * its executor: one shared executor, so a call allocates no closure (nor
 * its context) to learn its resolve function.
 */
let captured: ((value: unknown) => void) | undefined;
function captureResolve(resolve: (value: never) => void): void { captured = resolve as (value: unknown) => void; }

function run<R>(r: unknown, threadpool: unknown, f: unknown, args: unknown[], options: CallOptions | undefined): Promise<R> {
  if (options?.callerStack) return withCallerStack(run<R>(r, threadpool, f, args, { ...options, callerStack: false }));
  if (r === reactor && threadpool instanceof ThreadPool && options?.signal === undefined
    && options?.queueTimeout === undefined && options?.runTimeout === undefined && options?.affinity === undefined
    && options?.flattenInstances === undefined) {
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

/** The general path: checks its arguments (rejecting), a signal, or a user's own pool. */
function runChecked<R>(r: unknown, threadpool: unknown, f: unknown, args: unknown[], options: CallOptions | undefined): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (r !== reactor) throw new TypeError('deferToThreadPool(reactor, …): pass the reactor exported by reactor-threads');
    const signal = options?.signal;
    if (signal?.aborted) throw new CancelledError(signal.reason);
    if (threadpool instanceof ThreadPool) {
      const sink: TaskSink = {
        settle(ok: boolean, value: unknown): void {
          signal?.removeEventListener('abort', withdraw);
          if (ok) resolve(value as R); else reject(value);
        },
      };
      const affinity = options?.affinity === undefined ? undefined : String(options.affinity);
      const id = threadpool[kSubmit](f, args, sink, false, affinity, options?.flattenInstances);
      if (id && (options?.queueTimeout !== undefined || options?.runTimeout !== undefined)) {
        threadpool[kTimeouts](id, options.queueTimeout, options.runTimeout);
      }
      // Queued or running: the pool withdraws it and settles the sink. (Not
      // named onAbort as the const below: in sloppy mode, where a minifier
      // may take it, a block's function is hoisted and clashes with it.)
      function withdraw(): void {
        (threadpool as ThreadPool)[kCancel](id, new CancelledError(signal!.reason));
      }
      if (signal && id) signal.addEventListener('abort', withdraw, { once: true });
      return;
    }
    if (typeof threadpool !== 'object' || threadpool === null
      || typeof (threadpool as ThreadPoolLike).callInThreadWithCallback !== 'function') {
      throw new TypeError('threadpool must have a callInThreadWithCallback(onResult, f, ...args) method');
    }
    // How values cross is the user's pool's own affair: asking for it would be ignored.
    if (options?.flattenInstances !== undefined) {
      throw new TypeError('options.flattenInstances: only a ThreadPool can honour it, and this pool is not one');
    }
    // A user's own pool: the first of its callback and the signal settles.
    let settled = false;
    const onAbort = (): void => {
      if (!settled) { settled = true; reject(new CancelledError(signal!.reason)); }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const userPool = threadpool as { callInThreadWithCallback(...a: unknown[]): void };
    userPool.callInThreadWithCallback((ok: boolean, value: unknown) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (ok) resolve(value as R); else reject(value);
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
      if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
      const { timeout } = options;
      if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
        throw new RangeError('options.timeout must be a number of milliseconds > 0');
      }
      return <F extends AnyFunction>(r: Reactor, f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>> => {
        checkReactor(r);
        return thisThread().caller.call(f, args, options) as Awaited<ReturnType<F>>;
      };
    },
  });
