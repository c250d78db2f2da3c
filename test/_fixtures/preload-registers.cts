// Loaded before every thread's entry, the pool's included, by the
// --require or --import of test/preloads.ts: it loads the package there
// first, and registers functions the pool runs.
import { blockingCallFromThread, currentTask, reactor, threadable } from 'reactor-threads';
import { isMainThread } from 'node:worker_threads';

export const tripled = threadable(function tripled(x: number): number { return x * 3; });

const whereAmI = threadable(function whereAmI(): string { return isMainThread ? 'main' : 'worker'; });

/** In a pool thread: where its blocking call is served, and whether it knows its task. */
export const askOwner = threadable(function askOwner(): { servedOn: string; knowsTask: boolean } {
  return { servedOn: blockingCallFromThread(reactor, whereAmI), knowsTask: currentTask() !== undefined };
});
