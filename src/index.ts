// reactor-threads: Twisted's thread API for Node.js. The public surface,
// and the package's entry: importing it builds this thread's runtime
// (src/runtime/this-thread.ts), so that a main thread that loaded the package serves
// the Workers that call it.
import { assertNotBundled } from './runtime/not-bundled.js';
// Before anything else loads: inside a bundle, that fails in ways that never name the bundle.
assertNotBundled();
import { thisThread } from './runtime/this-thread.js';

thisThread();

export { deferToThread, deferToThreadPool, callMultipleInThread, blockingCallFromThread } from './api/threads.js';
export type {
  CallOptions, Call, DeferToThread, DeferToThreadPool, BlockingCallFromThread, ThreadPoolLike,
} from './api/threads.js';
export type { BlockingCallOptions } from './bridge/caller.js';
export { ThreadPool } from './pool/threadpool.js';
export type { ThreadPoolOptions, ThreadInfo, OnResult, PoolStats } from './pool/threadpool.js';
export type { TimeStats } from './reactor/native.js';
export { reactor } from './api/reactor.js';
export type { Reactor } from './api/reactor.js';
export { threadable, fromModule } from './identity/functions.js';
export type { AnyFunction, ModuleFunction, TaskFunction } from './identity/functions.js';
export { transfer } from './codec/codec.js';
export { currentTask } from './api/current-task.js';
export type { CurrentTask } from './api/current-task.js';
export {
  ReactorThreadsError, PoolStoppedError, ThreadDiedError, FunctionNotSendableError,
  ValueNotCloneableError, RemoteError, CancelledError, ReactorGoneError, WouldDeadlockError,
  CallTimeoutError, ThreadTerminatingError, PoolStarvedError, CallableReleasedError, TaskTimeoutError, QueueFullError,
} from './errors/errors.js';
