// The public types of a ThreadPool: its options, its callback, its stats,
// and the pool itself, in ECMAScript types only (see ./functions.ts). The
// class that implements ThreadPool: src/pool/threadpool.ts.
// Tests: scripts/test-install.mjs, test/_types/.
import type { AnyFunction, TaskFunction } from './functions.js';
import type { CallOptions } from './calls.js';

/** What a lifecycle hook is given. */
export interface ThreadInfo {
  /** The thread's number within its pool (1, 2, …: its Worker is named `<pool>#<threadId>`), not worker_threads.threadId. */
  threadId: number;
  /** The pool's name. */
  pool: string;
}

/** A Worker's resource limits (worker_threads' ResourceLimits), in MB. */
export interface ResourceLimits {
  maxYoungGenerationSizeMb?: number;
  maxOldGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** ThreadPool.stop()'s options. */
export interface StopOptions {
  /** Run the queued tasks before the threads exit. Default false: they are rejected with a PoolStoppedError. */
  drain?: boolean;
  /**
   * Milliseconds (0 to 2147483647, or Infinity: none, the default) after
   * which the tasks still open, running or queued for a drain, are
   * cancelled: rejected with a PoolStoppedError, their signals aborted,
   * and a thread whose task has not ended `cancelGrace` later terminated.
   * A later stop() with an earlier deadline shortens it.
   */
  timeout?: number;
}

export interface ThreadPoolOptions {
  /** Threads kept even when idle. Default 0. */
  minThreads?: number;
  /** Threads at most. Default: the machine's available parallelism. */
  maxThreads?: number;
  /** Names the pool and its threads (`<name>#<n>` in debuggers). Default 'ThreadPool'. */
  name?: string;
  /** Milliseconds an idle thread above `minThreads` lives on. Default 10,000. */
  idleTimeout?: number;
  /**
   * Async tasks one thread runs at once (a task is in flight until its
   * Promise settles). Synchronous tasks run one after another whatever
   * this is. Default 8.
   */
  concurrentTasksPerThread?: number;
  /**
   * Milliseconds the pool waits, once every one of its threads (at max)
   * is parked in a blocking call on its owner while tasks are queued,
   * before it reports a PoolStarvedError and ends those calls with it: no
   * queued task could start otherwise. Default 1,000; Infinity: never.
   */
  starvationTimeout?: number;
  /**
   * Milliseconds a running task may ignore its cancellation (its signal
   * aborted, or its run timeout passed) before its thread is terminated
   * and replaced; and milliseconds a thread still starting (its preloads,
   * onThreadStart) when stop() is called may take to finish starting
   * before it is terminated. Default 1,000; Infinity: never terminate.
   */
  cancelGrace?: number;
  /**
   * Tasks the queue holds at most; a call beyond it rejects at once with a
   * QueueFullError (wait for room with pool.whenRoom() or the 'drain'
   * event). Default: unbounded.
   */
  maxQueue?: number;
  /**
   * Runs in each thread when it starts, before it takes any task (an async
   * hook is awaited): open the thread's own resources, a database
   * connection say. A threadable or fromModule() function, given a
   * ThreadInfo. If it throws, the thread exits (as a thread that died
   * while starting) and the error is printed to stderr.
   */
  onThreadStart?: TaskFunction<(info: ThreadInfo) => unknown>;
  /**
   * Runs in each thread before it exits (stop(), shrinking, recycling),
   * after its last task; awaited. Close what onThreadStart opened.
   */
  onThreadExit?: TaskFunction<(info: ThreadInfo) => unknown>;
  /** A thread is replaced after running this many tasks. Default: never. */
  maxTasksPerThread?: number;
  /** A thread is replaced once its heap (heapUsed) passes this many bytes; checked every 64 tasks. Default: never. */
  maxHeapPerThread?: number;
  /** Passed to each thread's Worker. */
  resourceLimits?: ResourceLimits;
  /** The threads' `process.env`. Default: a copy of this thread's. */
  env?: Record<string, string | undefined>;
  /** Node options of the threads. Default: this process's `execArgv` (so loaders such as tsx apply). */
  execArgv?: string[];
  /**
   * Modules each thread imports, in order, before onThreadStart and its
   * first task: to register in each thread module hooks that this process
   * registered at run time (`module.register()`), which Node does not
   * carry into threads. Specifiers resolve as imports written in the file
   * that creates the pool. Loaders named in `execArgv` or NODE_OPTIONS
   * need no entry here. A preload that fails to import ends its thread as
   * a failed onThreadStart does.
   */
  preload?: string[];
  /**
   * Lets an instance of a class not registered with threadable() cross,
   * in a task's arguments and in its result, as a plain object of its own
   * properties, when those are all enumerable data properties (a parser's
   * AST node, say): its prototype's methods and getters are not carried,
   * and its private (#) fields, which cannot be seen, are lost. Built-ins
   * (a URL, a Promise, a WeakMap…) and instances with an own accessor are
   * still refused. A call's own flattenInstances overrides it for that
   * task; a pool thread's calls to its owner (blockingCallFromThread,
   * callFromThread) follow the pool's. Default false: such instances are
   * refused with a ValueNotCloneableError.
   */
  flattenInstances?: boolean;
}

/**
 * The pool's `(ok, result)` callback; runs on the pool's owner thread.
 * `result` is f's result `R` once `ok` is true, else what f threw.
 */
export type OnResult<R> = (...outcome: [success: true, result: R] | [success: false, error: unknown]) => void;

/** A distribution of durations, in ms (percentiles within ~9%). */
export interface TimeStats {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** A pool's live counts, as native keeps them (part of pool.stats()). */
export interface PoolCounts {
  /** Threads alive or starting. */
  threads: number;
  busy: number;
  idle: number;
  queued: number;
  submitted: number;
  completed: number;
  failed: number;
  /** Distinct function descriptors defined in the pool (one per distinct descriptor, however many function objects share it). */
  functions: number;
  /** Affinity keys bound to a thread: those of queued or running tasks. */
  affinityKeys: number;
}

/** pool.stats(): the native counts, and queue wait and run time from native timestamps (ms). */
export interface PoolStats extends PoolCounts {
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
  /**
   * Tasks' arguments and results whose moved buffers (transfer(), 64 KiB
   * or more in all) went beside the queue by port, without a copy.
   */
  movedByPort: number;
  /** Tasks whose moved buffers the pool still holds (here or at a thread) or results' waiting to be decoded. */
  movedHeld: number;
}

/**
 * A listener, its parameters compared both ways (a method's are): like
 * Node's own typings, it accepts `(error: Error) => …` for an event whose
 * arguments it does not type.
 */
type Listener = { listener(...args: unknown[]): void }['listener'];

/**
 * What a ThreadPool has of Node's EventEmitter (it is one), declared here
 * so that the types need no @types/node; with them, a pool is still a
 * NodeJS.EventEmitter (for events.once(pool, 'drain'), say). A pool emits
 * 'error' and 'drain' (see ThreadPool).
 */
export interface EventEmitterLike {
  addListener(eventName: string | symbol, listener: Listener): this;
  on(eventName: string | symbol, listener: Listener): this;
  once(eventName: string | symbol, listener: Listener): this;
  prependListener(eventName: string | symbol, listener: Listener): this;
  prependOnceListener(eventName: string | symbol, listener: Listener): this;
  removeListener(eventName: string | symbol, listener: Listener): this;
  off(eventName: string | symbol, listener: Listener): this;
  removeAllListeners(eventName?: string | symbol): this;
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
  listeners(eventName: string | symbol): Function[];
  rawListeners(eventName: string | symbol): Function[];
  emit(eventName: string | symbol, ...args: unknown[]): boolean;
  listenerCount(eventName: string | symbol, listener?: Function): number;
  eventNames(): (string | symbol)[];
}

/**
 * A pool of threads, each a `worker_threads` Worker with its own event
 * loop, fed from a native queue. Unless noted, call it from the thread that
 * created it. Emits 'error' with the errors of fire-and-forget calls
 * (callInThread, callMultipleInThread, a throwing onResult), a thread that
 * died while idle and a PoolStarvedError; with no listener they are
 * written to stderr. Emits 'drain' when the queue, full before, has room.
 */
export interface ThreadPoolMembers extends EventEmitterLike {
  /** Threads kept when idle. */
  readonly min: number;
  /** Threads at most. */
  readonly max: number;
  readonly name: string;
  /** True between start() and stop(). */
  readonly started: boolean;
  /** True once stop() was called. */
  readonly joined: boolean;
  /** Threads alive or starting. */
  readonly workers: number;
  /** Threads holding at least one task. */
  readonly busy: number;
  /** Started threads holding no task. */
  readonly idle: number;
  /** Tasks waiting for a thread. */
  readonly queued: number;
  /** Counts and timings; reading them is the only cost. */
  stats(): PoolStats;
  /** Resolves when the queue has room for another call (at once if it has). */
  whenRoom(): Promise<void>;
  /** Starts `min` threads, and more for work queued before now (up to `max`). */
  start(): void;
  /**
   * Stops the pool: running tasks finish; queued ones are rejected with a
   * PoolStoppedError (or run first, with `{ drain: true }`); later calls
   * are rejected. Resolves when every thread has exited. With `timeout`,
   * the tasks still open that long after are cancelled (see StopOptions).
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * Changes the bounds. Unspecified ones keep their value. A RangeError
   * when min < 0 or min > max. Extra threads exit once they are idle.
   */
  adjustPoolsize(minThreads?: number, maxThreads?: number): void;
  /** Runs `f(...args)` in a thread; errors go to the pool's 'error' listeners, else stderr. */
  callInThread<F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): void;
  /**
   * Runs `f(...args)` in a thread, then `onResult(true, result)` or
   * `onResult(false, error)` on this pool's owner thread, in the async
   * context of this call. An error thrown by onResult goes to the pool's
   * 'error' listeners, else stderr.
   */
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: OnResult<Awaited<ReturnType<F>>>, f: TaskFunction<F>, ...args: Parameters<F>): void;
  // For an onResult that takes `success` alone: TypeScript matches no
  // shorter parameter list against OnResult's union of tuples.
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: (success: boolean) => void, f: TaskFunction<F>, ...args: Parameters<F>): void;
  /**
   * callInThreadWithCallback with per-call options (ThreadPoolWithOptions),
   * as deferToThreadPool.with(options) passes them: signal, queueTimeout,
   * runTimeout, affinity and flattenInstances, with the meaning they have
   * there (CallOptions); onResult runs as callInThreadWithCallback's
   * does. Throws, before anything runs, a TypeError or RangeError for a
   * bad value, one TypeError naming those it is given of attempts,
   * backoff and priority (a remote pool's: a ThreadPool does not retry
   * and runs its tasks in order), and a TypeError for callerStack: true
   * (a Promise's: deferToThreadPool.with() honours it).
   */
  callInThreadWithOptions<F extends AnyFunction>(options: Omit<CallOptions, 'callerStack'>,
    onResult: OnResult<Awaited<ReturnType<F>>>, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithOptions<F extends AnyFunction>(options: Omit<CallOptions, 'callerStack'>,
    onResult: (success: boolean) => void, f: TaskFunction<F>, ...args: Parameters<F>): void;
}

/** Symbol.asyncDispose where the consumer's library declares it (ES2025's or Node's typings), else none. */
type AsyncDisposeKey = SymbolConstructor extends { readonly asyncDispose: infer S extends symbol } ? S : never;

/** `await using pool = new ThreadPool()` stops the pool when the block ends. */
export type AsyncDisposableLike = { [K in AsyncDisposeKey]: () => Promise<void> };

/** See ThreadPoolMembers. */
export type ThreadPool = ThreadPoolMembers & AsyncDisposableLike;

export interface ThreadPoolConstructor {
  /** A pool with `options`; validated here (a TypeError or RangeError naming the option). */
  new (options?: ThreadPoolOptions): ThreadPool;
  readonly prototype: ThreadPool;
}
