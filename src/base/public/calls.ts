// The public types of calls into threads: their options, the functions
// that make them, the reactor, and what a task knows of itself, in
// ECMAScript types only (see ./functions.ts). Implemented in src/api/.
// Tests: scripts/test-install.mjs, test/_types/.
import type { AnyFunction, TaskFunction } from './functions.js';
import type { OnResult, ThreadPool } from './pool.js';

/** What this package uses of an AbortSignal. */
export interface AbortSignalShape {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * The global AbortSignal where the consumer's typings declare one (Node's,
 * the DOM's), so that a task's signal can be handed on to fetch() and the
 * like; else the shape this package uses of it.
 */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer S } } ? S : AbortSignalShape;

/** Per-call options: `deferToThread.with(options)(f, ...args)`. */
export interface CallOptions {
  /**
   * Cancels the call: a task still queued is removed and never runs; the
   * Promise of a running one rejects with a CancelledError at once (the
   * thread finishes the task, and its result is dropped).
   */
  signal?: AbortSignalLike;
  /**
   * Close a failure's stack with the caller's own (async) frames, below
   * the boundary line and the thread's frames. It costs an async frame per
   * call (about 0.5 KB per queued call and a few percent of throughput in
   * bench/), so it is off by default: the thread's frames and a boundary
   * line naming the function and thread are always there.
   */
  callerStack?: boolean;
  /** Milliseconds the call may wait in the queue; then it is withdrawn and rejects with a TaskTimeoutError. */
  queueTimeout?: number;
  /**
   * Milliseconds the call may run, counted from the moment a thread takes
   * it; then it rejects with a TaskTimeoutError, its signal
   * (currentTask().signal) aborts, and after the pool's cancelGrace its
   * thread is terminated if it is still running.
   */
  runTimeout?: number;
  /**
   * Calls with the same key run on the same thread while it lives (its
   * module state, caches and connections are there); a key is bound, at
   * its first call, to the thread with the least work. If that thread
   * exits, its queued calls go to any thread and the key is bound anew.
   */
  affinity?: string | number;
  /**
   * Overrides the pool's flattenInstances for this call, in both
   * directions: its arguments, and the result its thread sends back. True
   * lets an instance of an unregistered class made only of own data
   * properties (a parser's AST node, say) cross as a plain object; false
   * refuses it. A ThreadPool honours it; another pool only if its
   * callInThreadWithOptions() does, else the call rejects with a TypeError.
   */
  flattenInstances?: boolean;
  /**
   * How many times the call may run in all: a run that fails is retried
   * until one succeeds or this many have failed (the last failure
   * rejects). An integer >= 1. A remote pool (reactor-threads/bullmq's)
   * honours it; a ThreadPool does not retry a failed task, and rejects
   * the call with a TypeError.
   */
  attempts?: number;
  /**
   * The wait between attempts (see attempts): a number of milliseconds
   * >= 0, or `{ type, delay }`, 'fixed' waiting `delay` ms each time,
   * 'exponential' doubling it from `delay` (BullMQ's backoff). A remote
   * pool (reactor-threads/bullmq's) honours it; a ThreadPool rejects the
   * call with a TypeError.
   */
  backoff?: number | { type: 'fixed' | 'exponential'; delay: number };
  /**
   * The call's place in the queue, with BullMQ's meaning: an integer from
   * 1 (taken first) to 2,097,152 (taken last); 0, as no priority at all
   * (in BullMQ a job with no priority is taken before those with one). A
   * remote pool (reactor-threads/bullmq's) honours it; a ThreadPool runs
   * its tasks in the order they are made, and rejects the call with a
   * TypeError.
   */
  priority?: number;
}

/** Per-call options of blockingCallFromThread. */
export interface BlockingCallOptions {
  /** Milliseconds to wait for the reactor's answer; then a CallTimeoutError. Default: no limit. */
  timeout?: number;
}

/** What a running task can know about itself. */
export interface CurrentTask {
  /** The task's id, unique within its pool's owner thread. */
  readonly id: number;
  /**
   * Aborts when the call is cancelled or its run timeout passes. First
   * read after its task ended (by a callback the task left behind), it
   * never aborts.
   */
  readonly signal: AbortSignalLike;
}

/** Anything with Twisted's callInThreadWithCallback: a ThreadPool, or a user's own pool. */
export interface ThreadPoolLike {
  callInThreadWithCallback(onResult: OnResult<unknown>, f: unknown, ...args: unknown[]): void;
}

/**
 * A pool that receives per-call options: deferToThreadPool.with(options)
 * calls its callInThreadWithOptions() instead of callInThreadWithCallback()
 * (a call without .with() still goes to callInThreadWithCallback()). A
 * ThreadPool is one; so is a remote pool such as reactor-threads/bullmq's.
 * A pool without the method can honour a signal (deferToThreadPool
 * settles the call itself when it aborts) and no other option: the call
 * rejects with a TypeError naming them.
 */
export interface ThreadPoolWithOptions extends ThreadPoolLike {
  /**
   * Runs `f(...args)` with the caller's `options`, all but callerStack
   * (which the caller handles itself), then calls `onResult(true, result)`
   * or `onResult(false, error)` once, on the caller's thread.
   *
   * It must first throw a TypeError naming every option it cannot honour
   * (`options.attempts, options.priority: …`), synchronously, before it
   * does anything: the call then rejects with that TypeError, and nothing
   * runs. Whatever else it throws synchronously rejects the call too.
   *
   * It honours `signal` itself: when the signal aborts (or has aborted
   * before the call) it calls `onResult(false, new CancelledError(reason))`
   * at once, withdraws the work if it has not started (it never runs),
   * and asks work already running to stop, or abandons it (a result that
   * still comes is dropped).
   * deferToThreadPool adds no abort listener of its own for such a pool,
   * and the first onResult settles the call: later ones are ignored.
   */
  callInThreadWithOptions(options: Omit<CallOptions, 'callerStack'>, onResult: OnResult<unknown>, f: unknown, ...args: unknown[]): void;
}

export type DeferToThread = {
  <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  /** The same call with per-call options. */
  with(options: CallOptions): <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
};

export type DeferToThreadPool = {
  <F extends AnyFunction>(reactor: Reactor, threadpool: ThreadPoolLike, f: TaskFunction<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  with(options: CallOptions): <F extends AnyFunction>(
    reactor: Reactor, threadpool: ThreadPoolLike, f: TaskFunction<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
};

/**
 * One entry of callMultipleInThread's list: `F` and its arguments, which
 * may be left out when `F` takes none. Typed `Call` (any function), the
 * arguments are not checked: a list built up entry by entry.
 */
export type Call<F extends AnyFunction = AnyFunction> = readonly [] extends CallArgs<F>
  ? readonly [f: TaskFunction<F>, args?: CallArgs<F>]
  : readonly [f: TaskFunction<F>, args: CallArgs<F>];

/** `F`'s arguments; any, for a function whose type says nothing of them (AnyFunction). */
type CallArgs<F extends AnyFunction> = AnyFunction extends F ? readonly unknown[] : Readonly<Parameters<F>>;

/**
 * callMultipleInThread: each entry of a written-out list is checked
 * against its own function, as deferToThread's arguments are (`L` is
 * inferred, one function per entry).
 */
export type CallMultipleInThread = <L extends readonly AnyFunction[]>(
  list: readonly [...{ [K in keyof L]: Call<L[K]> }]) => Promise<void>;

export type BlockingCallFromThread = {
  <F extends AnyFunction>(reactor: Reactor, f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>>;
  /** The same call with per-call options (a timeout). */
  with(options: BlockingCallOptions): <F extends AnyFunction>(
    reactor: Reactor, f: TaskFunction<F>, ...args: Parameters<F>) => Awaited<ReturnType<F>>;
};

/** Per-call options of blockingCallInThread. */
export interface BlockingCallInThreadOptions {
  /** The pool whose thread runs the call, one this thread owns and has started. Default: this thread's own pool (reactor.getThreadPool()). */
  pool?: ThreadPool;
  /**
   * Milliseconds to wait for the thread's answer; then a CallTimeoutError,
   * and the task is withdrawn if it waits, or cancelled (its signal
   * aborts) if it runs. Default: no limit.
   */
  timeout?: number;
}

export type BlockingCallInThread = {
  <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>>;
  /** The same call with per-call options (another pool, a timeout). */
  with(options: BlockingCallInThreadOptions): <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>) => Awaited<ReturnType<F>>;
};

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
