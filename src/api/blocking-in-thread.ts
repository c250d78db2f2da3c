// blockingCallInThread: the reverse of blockingCallFromThread. The calling
// thread (usually the main thread, for a synchronous API that must run
// async code: a lint rule, a config loader, a require hook) runs f on a
// thread of a pool it owns and waits for the outcome, synchronously.
//
// How: it opens a native reply slot, queues a task that names the slot,
// and parks on it (spin, then park). The pool thread that starts the task
// adopts the slot and answers it with the task's outcome, bypassing the
// owner's inbox, which the parked owner cannot drain; the inbox gets only
// the task's end, for the pool's books (src/thread/task-runner.ts #answer).
// Every way the wait can end is native: the answer; the timeout; the
// thread's death (its environment's teardown wakes the slot it adopted,
// or marks it gone for a task it took and had not started); every thread
// of the pool gone while the task waits (the parked owner can start none);
// this thread's own termination.
//
// Deadlocks are refused, not served: while the owner waits, a blocking
// call from the thread that runs its task back to the owner
// (blockingCallFromThread, or a reactor callable it was given) fails at
// once with WouldDeadlockError through the native wait graph, so does a
// cycle through several pools; and a wait for a queued task whose every
// pool thread waits on the owner ends with it (within a park slice).
// Serving those calls while parked would mean running arbitrary reactor
// code inside a synchronous call, without its microtasks or its loop;
// refusing keeps the owner's state unchanged.
// Calls that need no answer (callFromThread) are queued and served once
// the owner's loop runs again.
// Caller's thread only. Tests: test/blocking-call-in-thread.ts.
import {
  CallTimeoutError, decodeThrow, PoolStoppedError, ReactorGoneError, ThreadDiedError, ThreadTerminatingError, withCallerFrames,
  WouldDeadlockError, type EncodedThrow,
} from '../errors/errors.js';
import { native } from '../reactor/native.js';
import { thisThread } from '../runtime/this-thread.js';
import { CallStatus } from '../base/wire.js';
import { kCancel, kServeParked, kSubmitBlocking, ThreadPool } from '../pool/threadpool.js';
import { ownPool } from './reactor.js';
import { checkBlockingOptions } from './threads.js';
import type { AnyFunction, TaskFunction } from '../base/public/functions.js';
import type { BlockingCallInThread, BlockingCallInThreadOptions } from '../base/public/calls.js';

function callInThread(pool: ThreadPool, f: unknown, args: readonly unknown[], timeout: number): unknown {
  const deadline = native.now() + timeout;
  const slot = native.bridgeOpenWait();
  if (slot === 0) throw new ReactorGoneError('blockingCallInThread: the process is exiting');
  let poolId: number;
  let taskId: number;
  try {
    [poolId, taskId] = pool[kSubmitBlocking](f, args, slot);
  } catch (e) {
    native.bridgeCloseWait(slot);
    throw e;
  }
  const { caller } = thisThread();
  const remaining = (): number => (timeout > 0 ? Math.max(deadline - native.now(), 0.001) : 0);
  let reply: ReturnType<typeof caller.awaitTask>;
  try {
    reply = awaitServing(pool, () => caller.awaitTask(slot, poolId, taskId, remaining()));
  } catch (e) {
    // Thrown between waits (reading the ports): the call is not left
    // listed, nor its task queued for a caller that is gone. (Thrown
    // decoding an answer: the call is closed and its task ended already,
    // so both do nothing.)
    native.bridgeCloseWait(slot);
    pool[kCancel](taskId, e);
    throw e;
  }
  if (typeof reply !== 'number') {
    // (The task's end reaches the pool's table later, through the inbox.)
    const [status, value] = reply;
    if (status === CallStatus.Fulfilled) return value;
    throw withCallerFrames(decodeThrow(value as EncodedThrow), callInThread, 'blockingCallInThread');
  }
  const error = unanswered(reply, timeout);
  // Waiting or running, it is withdrawn or cancelled (its signal aborts);
  // a thread that died took it along, and its exit settles nothing more.
  pool[kCancel](taskId, error);
  throw error;
}

/**
 * The wait, which returns CallStatus.Attention, the call still pending,
 * each time a thread of the pool posts to this thread's ports: a task
 * queued ahead of this one may wait for moved buffers that only this
 * thread can send, and its loop, blocked, would never read the ask.
 * What came before the wait began is read first.
 */
function awaitServing<R>(pool: ThreadPool, wait: () => R | number): R | number {
  for (;;) {
    pool[kServeParked]();
    const reply = wait();
    if (reply !== CallStatus.Attention) return reply;
  }
}

function unanswered(status: number, timeout: number): Error {
  switch (status) {
    case CallStatus.TimedOut:
      return new CallTimeoutError(timeout, `blockingCallInThread: the thread did not answer within ${timeout} ms`);
    case CallStatus.ReactorGone:
      return new ThreadDiedError('blockingCallInThread: the thread running the call exited before it answered '
        + '(or the process is exiting)', undefined);
    case CallStatus.ThreadsLost:
      return new ThreadDiedError('blockingCallInThread: every thread of the pool is gone (they died, or could not start), '
        + 'and the pool cannot start one while this thread waits', undefined);
    case CallStatus.WouldDeadlock:
      return new WouldDeadlockError('blockingCallInThread: every thread of the pool waits, directly or through others, '
        + 'on this thread, so none would take the call');
    case CallStatus.Terminating: return new ThreadTerminatingError();
    case CallStatus.PoolStopped:
      return new PoolStoppedError('blockingCallInThread: the pool of the thread that waited was stopped');
    default: return new Error(`reactor-threads: unknown call status ${String(status)}`);
  }
}

function checkOptions(options: BlockingCallInThreadOptions): { pool: ThreadPool | undefined; timeout: number } {
  checkBlockingOptions(options, ['pool', 'timeout']);
  const { pool, timeout } = options;
  if (pool !== undefined && !(pool instanceof ThreadPool)) {
    throw new TypeError('options.pool must be a ThreadPool of this thread\'s');
  }
  return { pool, timeout: timeout ?? 0 };
}

// Documented in index.ts, which exports it with its public type.
export const blockingCallInThread: BlockingCallInThread = Object.assign(
  <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>> =>
    callInThread(ownPool(), f, args, 0) as Awaited<ReturnType<F>>,
  {
    with(options: BlockingCallInThreadOptions) {
      const { pool, timeout } = checkOptions(options);
      return <F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): Awaited<ReturnType<F>> =>
        callInThread(pool ?? ownPool(), f, args, timeout) as Awaited<ReturnType<F>>;
    },
  });
