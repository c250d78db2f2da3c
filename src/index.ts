// reactor-threads: Twisted's thread API for Node.js. The public surface,
// and the package's entry: importing it builds this thread's runtime
// (src/thread.ts), so that a main thread that loaded the package serves
// the Workers that call it.
import { thisThread } from './thread.js';

thisThread();

export { deferToThread, deferToThreadPool, callMultipleInThread, blockingCallFromThread } from './threads.js';
export type {
  CallOptions, Call, DeferToThread, DeferToThreadPool, BlockingCallFromThread, ThreadPoolLike,
} from './threads.js';
export type { BlockingCallOptions } from './bridge-caller.js';
export { ThreadPool } from './threadpool.js';
export type { ThreadPoolOptions, ThreadInfo, OnResult, PoolStats } from './threadpool.js';
export type { TimeStats } from './native.js';
export { reactor } from './reactor.js';
export type { Reactor } from './reactor.js';
export { threadable, fromModule } from './functions.js';
export type { AnyFunction, ModuleFunction, TaskFunction } from './functions.js';
export { transfer } from './codec.js';
export { currentTask } from './current-task.js';
export type { CurrentTask } from './current-task.js';
export {
  ReactorThreadsError, PoolStoppedError, ThreadDiedError, FunctionNotSendableError,
  ValueNotCloneableError, RemoteError, CancelledError, ReactorGoneError, WouldDeadlockError,
  CallTimeoutError, ThreadTerminatingError, PoolStarvedError, CallableReleasedError, TaskTimeoutError, QueueFullError,
} from './errors.js';
