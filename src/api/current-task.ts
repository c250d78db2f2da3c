// currentTask(): inside a pool thread, the running task's id and its
// AbortSignal, which fires when the caller cancels the call (its signal
// aborts) or the call's run timeout passes. Pool threads only.
// Tests: test/cancellation.ts.
import { thisThread } from '../runtime/this-thread.js';
import type { CurrentTask } from '../base/public/calls.js';

// Documented in index.ts, which exports it with its public type.
export function currentTask(): CurrentTask {
  const task = thisThread().poolThread?.currentTask();
  if (!task) {
    const e = new Error('currentTask() was called outside a task: call it inside a task, in a pool thread, before '
      + 'the task\'s first await, and keep what it returns for the task\'s later steps');
    // (Node's convention for a call made in the wrong place, as ERR_INVALID_STATE.)
    Object.defineProperty(e, 'code', { value: 'ERR_NOT_IN_TASK', enumerable: true, writable: true, configurable: true });
    throw e;
  }
  return task;
}
