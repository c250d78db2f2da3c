// currentTask(): inside a pool thread, the running task's id and its
// AbortSignal, which fires when the caller cancels the call (its signal
// aborts) or the call's run timeout passes. Pool threads only.
// Tests: test/cancellation.ts.
import { thisThread } from '../runtime/this-thread.js';
import type { CurrentTask } from '../base/public/calls.js';

// Documented in index.ts, which exports it with its public type.
export function currentTask(): CurrentTask {
  const task = thisThread().poolThread?.currentTask();
  if (!task) throw new Error('currentTask() is called inside a task, in a pool thread, before the task\'s first await');
  return task;
}
