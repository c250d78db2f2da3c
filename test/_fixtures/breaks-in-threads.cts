// A module whose top-level code fails in pool threads (a missing native
// dependency, say): its threadable can be registered here but not found there.
import { workerData } from 'node:worker_threads';
import { threadable } from 'reactor-threads';

if ((workerData as { kind?: string } | undefined)?.kind === 'reactor-threads.pool-thread') {
  throw new Error('this module cannot load in a pool thread');
}
export const unreachable = threadable(function unreachable(): number { return 1; });
