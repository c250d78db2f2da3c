// A module whose load takes 300 ms in each thread (a top-level await): the
// first calls of its function wait behind that load (TaskRunner #waitFor).
import { threadable } from 'reactor-threads';

await new Promise((r) => setTimeout(r, 300));

/** Spins `ms`: a synchronous task. */
export const slowLoadSpin = threadable(function slowLoadSpin(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return ms;
});
