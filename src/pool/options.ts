// ThreadPool's options: their defaults and their validation at the public
// edge (a TypeError or RangeError that names the option). Owner thread.
// Tests: test/threadpool-options.ts.
import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import type { AnyFunction, TaskFunction } from '../identity/functions.js';

/** What a lifecycle hook is given. */
export interface ThreadInfo {
  /** The thread's id within its pool. */
  threadId: number;
  /** The pool's name. */
  pool: string;
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
   * and replaced. Default 1,000; Infinity: never terminate.
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

export interface ResolvedOptions {
  min: number;
  max: number;
  name: string;
  idleTimeout: number;
  concurrency: number;
  starvationTimeout: number;
  cancelGrace: number;
  maxQueue: number;
  onThreadStart: TaskFunction<AnyFunction> | undefined;
  onThreadExit: TaskFunction<AnyFunction> | undefined;
  maxTasksPerThread: number;
  maxHeapPerThread: number;
  resourceLimits: ResourceLimits | undefined;
  env: Record<string, string | undefined> | undefined;
  execArgv: string[] | undefined;
  flattenInstances: boolean;
}

function count(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (v < min) throw new RangeError(`${name} must be at least ${min}, got ${v}`);
  return v;
}

export function resolveOptions(o: ThreadPoolOptions = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('ThreadPool options must be an object');
  const min = o.minThreads === undefined ? 0 : count('minThreads', o.minThreads, 0);
  const max = o.maxThreads === undefined ? Math.max(availableParallelism(), min, 1) : count('maxThreads', o.maxThreads, 1);
  if (min > max) throw new RangeError(`minThreads (${min}) must not exceed maxThreads (${max})`);
  if (o.name !== undefined && typeof o.name !== 'string') throw new TypeError('name must be a string');
  if (o.idleTimeout !== undefined && (typeof o.idleTimeout !== 'number' || !(o.idleTimeout >= 0))) {
    throw new RangeError('idleTimeout must be a number of milliseconds >= 0 (Infinity keeps idle threads)');
  }
  if (o.starvationTimeout !== undefined && (typeof o.starvationTimeout !== 'number' || !(o.starvationTimeout >= 0))) {
    throw new RangeError('starvationTimeout must be a number of milliseconds >= 0 (Infinity: never)');
  }
  if (o.cancelGrace !== undefined && (typeof o.cancelGrace !== 'number' || !(o.cancelGrace >= 0))) {
    throw new RangeError('cancelGrace must be a number of milliseconds >= 0 (Infinity: never terminate)');
  }
  if (o.execArgv !== undefined && (!Array.isArray(o.execArgv) || o.execArgv.some((a) => typeof a !== 'string'))) {
    throw new TypeError('execArgv must be an array of strings');
  }
  if (o.flattenInstances !== undefined && typeof o.flattenInstances !== 'boolean') {
    throw new TypeError('flattenInstances must be a boolean');
  }
  return {
    min, max,
    name: o.name ?? 'ThreadPool',
    idleTimeout: o.idleTimeout ?? 10_000,
    concurrency: o.concurrentTasksPerThread === undefined ? 8
      : count('concurrentTasksPerThread', o.concurrentTasksPerThread, 1),
    starvationTimeout: o.starvationTimeout ?? 1000,
    cancelGrace: o.cancelGrace ?? 1000,
    maxQueue: o.maxQueue === undefined ? 0xffffffff : count('maxQueue', o.maxQueue, 1),
    onThreadStart: o.onThreadStart as TaskFunction<AnyFunction> | undefined,
    onThreadExit: o.onThreadExit as TaskFunction<AnyFunction> | undefined,
    maxTasksPerThread: o.maxTasksPerThread === undefined ? 0 : count('maxTasksPerThread', o.maxTasksPerThread, 1),
    maxHeapPerThread: o.maxHeapPerThread === undefined ? 0 : count('maxHeapPerThread', o.maxHeapPerThread, 1),
    resourceLimits: o.resourceLimits,
    env: o.env,
    execArgv: o.execArgv,
    flattenInstances: o.flattenInstances ?? false,
  };
}

/** adjustPoolsize()'s bounds: unspecified ones keep their value. */
export function resolveBounds(min: unknown, max: unknown, current: { min: number; max: number }): { min: number; max: number } {
  const lo = min === undefined ? current.min : count('minThreads', min, 0);
  const hi = max === undefined ? Math.max(current.max, lo) : count('maxThreads', max, 1);
  if (lo > hi) throw new RangeError(`minThreads (${lo}) must not exceed maxThreads (${hi})`);
  return { min: lo, max: hi };
}
