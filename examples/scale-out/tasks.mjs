// The functions the scale-out example runs on its workers. A worker
// loads this module (its allow list names it), so threadable() marks
// them there as here, and each result says where it was computed.
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { threadable } from 'reactor-threads';

/** CPU-bound on purpose (trial division), so the calls spread over the workers. */
export const primesBelow = threadable(function primesBelow(n) {
  let count = 0;
  for (let i = 2; i < n; i++) {
    let d = 2;
    while (d * d <= i && i % d !== 0) d++;
    if (d * d > i) count++;
  }
  return { count, ran: { host: hostname(), pid: process.pid, thread: threadId } };
});
