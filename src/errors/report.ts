// Where errors of fire-and-forget calls go (Twisted logs them): the pool's
// 'error' listeners if it has any, else stderr with the whole stack. Never
// an unhandled rejection and never silence. Owner thread.
import type { EventEmitter } from 'node:events';
import { inspect } from 'node:util';

export function reportError(target: EventEmitter, error: unknown, context: string): void {
  if (target.listenerCount('error') > 0) {
    emitFromBookkeeping(target, 'error', error);
    return;
  }
  reportToStderr(error, context);
}

/**
 * Emits `event` from within the pool's bookkeeping (a loop that settles
 * calls, a task's settle): a listener that throws must not cut it short,
 * which left the calls behind it unsettled for good (helper-135's hunt).
 * Its error is thrown again on the next tick, an uncaught exception, as a
 * listener's error is when an event comes from the event loop.
 */
export function emitFromBookkeeping(target: EventEmitter, event: string, ...args: unknown[]): void {
  try {
    target.emit(event, ...args);
  } catch (e) {
    process.nextTick(() => { throw e; });
  }
}

/** For errors with no pool to report to (a callFromThread target that threw). */
export function reportToStderr(error: unknown, context: string): void {
  process.stderr.write(`reactor-threads: ${context} failed:\n${inspect(error)}\n`);
}

/**
 * Calls `f(...args)` fire-and-forget: a throw, or a rejection of what it
 * returns, goes to stderr under `context`, never to the process's
 * uncaught-exception or unhandled-rejection handlers.
 */
export function callReported(f: (...args: never[]) => unknown, args: readonly unknown[], context: string): void {
  let result: unknown;
  try {
    result = (f as (...a: unknown[]) => unknown)(...args);
  } catch (e) {
    reportToStderr(e, context);
    return;
  }
  if ((typeof result === 'object' || typeof result === 'function') && result !== null
    && typeof (result as { then?: unknown }).then === 'function') {
    Promise.resolve(result).then(undefined, (e: unknown) => reportToStderr(e, context));
  }
}
