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
