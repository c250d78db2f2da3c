// Which failures a remote call retries (its `attempts`): all but those a
// retry cannot change. Runs where the error is thrown: a worker's pool
// thread. Tests: test/bullmq-retries.ts.
import { NOT_RETRYABLE } from './job-runner.js';

/**
 * Marks an error class (and its subclasses) as not worth retrying: a
 * remote call that fails with it fails at once, whatever its `attempts`.
 * Call it in the module that defines the class, so that the worker's
 * threads, which import that module, see the mark. BullMQ's own
 * UnrecoverableError (by name) is never retried either.
 */
export function notRetryable<C extends abstract new (...args: never[]) => Error>(errorClass: C): C {
  if (typeof errorClass !== 'function') throw new TypeError('notRetryable() takes an error class');
  Object.defineProperty(errorClass, NOT_RETRYABLE, { value: true });
  return errorClass;
}
