// currentTask(): inside a pool thread, the running task's id and its
// AbortSignal, which fires when the caller cancels the call (its signal
// aborts) or the call's run timeout passes. Pool threads only.
// Tests: test/cancellation.ts.
import { thisThread, type CurrentTask } from '../runtime/this-thread.js';

export type { CurrentTask };

/**
 * The task running now, in a pool thread. Call it in the task's
 * synchronous part (before its first `await`) and keep the signal: after
 * an await, another task of the same thread may be running. Throws when
 * called outside a task.
 */
export function currentTask(): CurrentTask {
  const task = thisThread().poolThread?.currentTask();
  if (!task) throw new Error('currentTask() is called inside a task, in a pool thread, before the task\'s first await');
  return task;
}
