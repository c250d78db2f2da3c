// Loaded on a reactor by the first call that names it, so that call waits
// for an import there. Appends to the reactor's log.
import { threadable } from 'reactor-threads';

export const logOnReactor = threadable(function logOnReactor(entry: string): void {
  (globalThis as { reactorLog?: string[] }).reactorLog?.push(entry);
});
