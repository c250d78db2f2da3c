// Where errors of fire-and-forget calls go (Twisted logs them): the pool's
// 'error' listeners if it has any, else stderr with the whole stack. Never
// an unhandled rejection and never silence. Owner thread.
import type { EventEmitter } from 'node:events';
import { inspect } from 'node:util';

export function reportError(target: EventEmitter, error: unknown, context: string): void {
  if (target.listenerCount('error') > 0) {
    target.emit('error', error);
    return;
  }
  reportToStderr(error, context);
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
