// reactor-threads: Twisted's thread API for Node.js. The public surface,
// and the package's entry: importing it builds this thread's runtime
// (src/runtime/this-thread.ts), so that a main thread that loaded the package serves
// the Workers that call it.
//
// Each value is exported with its public type, declared in base/public/
// in ECMAScript types alone, and not re-exported from its module: the
// declarations a consumer type-checks then reach no module whose own
// declarations need Node's typings (scripts/test-install.mjs checks a
// consumer without @types/node). The error classes are re-exported as they
// are: errors.ts and what it imports declare nothing of Node's.
import { assertNotBundled } from './runtime/not-bundled-cjs.js';
// Before anything else loads: inside a bundle, that fails in ways that never name the bundle.
assertNotBundled();
import { thisThread } from './runtime/this-thread.js';
import * as threads from './api/threads.js';
import * as blockingInThread from './api/blocking-in-thread.js';
import * as reactorApi from './api/reactor.js';
import * as pool from './pool/threadpool.js';
import * as functions from './identity/functions.js';
import * as codec from './codec/codec.js';
import * as task from './api/current-task.js';
import * as tracing from './base/tracing.js';
import type { AnyFunction, ModuleFunction } from './base/public/functions.js';
import type {
  BlockingCallFromThread, BlockingCallInThread, CallMultipleInThread, CurrentTask, DeferToThread, DeferToThreadPool, Reactor,
} from './base/public/calls.js';
import type { ThreadPool as ThreadPoolType, ThreadPoolConstructor } from './base/public/pool.js';

thisThread();

/**
 * Runs `f(...args)` on a thread of `reactor.getThreadPool()`. The Promise
 * settles on the calling thread with what `f` returns (an async `f` is
 * awaited in the thread) or rejects with what it throws, its class kept.
 * `f` is a threadable function, a fromModule() reference, a built-in
 * module's function, or a self-contained plain function (sent as source).
 */
export const deferToThread: DeferToThread = threads.deferToThread;

/**
 * Runs `f(...args)` on `threadpool`: a ThreadPool, or any object with
 * `callInThreadWithCallback(onResult, f, ...args)`. The Promise settles on
 * `reactor`'s thread, which is the calling thread.
 */
export const deferToThreadPool: DeferToThreadPool = threads.deferToThreadPool;

/**
 * Runs each `f(...args)` of `list` in order, on one thread, in one
 * dispatch (an async `f` is awaited before the next starts). As in Twisted
 * it is fire-and-forget: an error stops the rest and is reported to the
 * pool's 'error' listeners (else stderr), never as an unhandled rejection.
 * The returned Promise, which the caller may await, resolves when all ran
 * or rejects with that error.
 */
export const callMultipleInThread: CallMultipleInThread = threads.callMultipleInThread;

/**
 * Called in a thread: runs `f(...args)` on the reactor this thread serves
 * (the pool's owner in a pool thread, the main thread in any other Worker)
 * and returns its result synchronously. A Promise or thenable result is
 * awaited on the reactor. What `f` throws or rejects with is thrown here,
 * its class kept. Throws a WouldDeadlockError at once on the reactor's own
 * thread, or when the reactor waits (through other threads) on this one.
 * While it waits, the calling thread's event loop does not run.
 */
export const blockingCallFromThread: BlockingCallFromThread = threads.blockingCallFromThread;

/**
 * The reverse of blockingCallFromThread: runs `f(...args)` on a thread of
 * this thread's pool (or `.with({ pool })`'s) and returns its result
 * synchronously; an async `f` is awaited in the thread. What `f` throws
 * or rejects with is thrown here, its class kept. The wait ends only with
 * the answer, the `.with({ timeout })` (CallTimeoutError), the thread's
 * death or the loss of every thread of the pool (ThreadDiedError). A
 * blocking call from that thread back to this one is refused at once
 * (WouldDeadlockError). While it waits, the calling thread's event loop
 * does not run: its timers, I/O and Promises wait too.
 */
export const blockingCallInThread: BlockingCallInThread = blockingInThread.blockingCallInThread;

/**
 * Twisted's ThreadPool: a pool of threads, each a `worker_threads` Worker
 * with its own event loop, fed from a native queue. Call its methods from
 * the thread that created it.
 */
export const ThreadPool: ThreadPoolConstructor = pool.ThreadPool;
export type ThreadPool = ThreadPoolType;

/**
 * The reactor as seen from the calling thread: its pool side
 * (getThreadPool, suggestThreadPoolSize, callInThread) is this thread's
 * own; its bridge side (callFromThread, the target of
 * blockingCallFromThread) is the reactor this thread serves.
 */
export const reactor: Reactor = reactorApi.reactor;

/**
 * Marks a module-level function (or a class that errors may be mapped to)
 * so that a thread can find it: the thread imports its module and looks it
 * up by name. Returns `f` unchanged. Call it at the top level of a module;
 * the module's top-level code then also runs in each thread that uses `f`.
 * An anonymous function is named by its order among the module's
 * anonymous registrations. Throws a FunctionNotSendableError at once when
 * `f` cannot be registered (not called from a module file, or defined in
 * the program's entry script while using outer variables).
 */
export const threadable: {
  <F extends Function>(f: F): F;
  <F extends Function>(name: string, f: F): F;
} = functions.threadable;

/**
 * A reference to `exportName` of the module `specifier`, resolved as an
 * import written in the calling module would resolve it (relative to the
 * caller's file). The module is imported in the thread on first use.
 */
export const fromModule: <F extends AnyFunction = (...args: unknown[]) => unknown>(
  specifier: string, exportName: string) => ModuleFunction<F> = functions.fromModule;

/**
 * Marks an ArrayBuffer, a typed array or a Buffer, passed as an argument or
 * returned from a task, or anywhere inside them, to be moved to the other thread instead of copied:
 * after the call the sender's copy is detached (length 0). A call refused
 * before it was queued or sent (QueueFullError, a stopped pool, a blocking
 * call that would deadlock or whose reactor is gone) leaves it with the
 * sender, whole. A view over part
 * of a larger buffer (small Buffers share an 8 KiB slab) is copied instead,
 * since detaching the slab would break its other users, and so is the slab
 * itself (`Buffer.from('hi').buffer`), or any buffer marked untransferable
 * (worker_threads' markAsUntransferable): it stays whole with the sender.
 * Anything else throws a TypeError.
 */
export const transfer: <T extends ArrayBuffer | ArrayBufferView>(value: T) => T = codec.transfer;

/**
 * The task running now, in a pool thread. Call it in the task's
 * synchronous part (before its first `await`) and keep the signal: after
 * an await, another task of the same thread may be running. Elsewhere
 * (outside a task, or after its first await) it throws an Error with code
 * ERR_NOT_IN_TASK.
 */
export const currentTask: () => CurrentTask = task.currentTask;

/** The TracingChannel of tasks on the caller's side (README: Tracing). */
export const TASK_CHANNEL: 'reactor-threads.task' = tracing.TASK_CHANNEL;
/** The TracingChannel of a task's run, in the pool thread (README: Tracing). */
export const TASK_RUN_CHANNEL: 'reactor-threads.task.run' = tracing.TASK_RUN_CHANNEL;

export type { AnyFunction, ModuleFunction, TaskFunction } from './base/public/functions.js';
export type {
  BlockingCallFromThread, BlockingCallInThread, BlockingCallInThreadOptions, BlockingCallOptions, Call, CallMultipleInThread, CallOptions, CurrentTask, DeferToThread, DeferToThreadPool, Reactor,
  ThreadPoolLike, ThreadPoolWithOptions,
} from './base/public/calls.js';
export type { OnResult, PoolStats, StopOptions, ThreadInfo, ThreadPoolOptions, TimeStats } from './base/public/pool.js';
export type { TaskRunTraceMessage, TaskTraceMessage, TraceCarrier } from './base/public/tracing.js';
export {
  ReactorThreadsError, PoolStoppedError, ThreadDiedError, FunctionNotSendableError,
  ValueNotCloneableError, RemoteError, CancelledError, ReactorGoneError, WouldDeadlockError,
  CallTimeoutError, ThreadTerminatingError, PoolStarvedError, CallableReleasedError, TaskTimeoutError, QueueFullError,
  ModuleNotAllowedError, PayloadTooLargeError, UnreadablePayloadError, JobLostError,
} from './errors/errors.js';
