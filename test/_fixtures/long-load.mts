// A module whose load takes 1.5 s in each thread (a top-level await): the
// calls taken behind a call of its function must not wait for it
// (test/cancellation.ts, TaskRunner #handBackBehindLoad). Long, so that a
// runTimeout well under it, yet far above what a call takes under wine
// with other test files running, tells waiting behind it from not.
import { threadable } from 'reactor-threads';

await new Promise((r) => setTimeout(r, 1_500));

/** Returns `x`: a quick task, once its module has loaded. */
export const longLoadEcho = threadable(function longLoadEcho(x: number): number {
  return x;
});
