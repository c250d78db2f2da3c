// A test runner's fake timers installed before the package loads, whose
// setImmediate and queueMicrotask never run what is queued on them, must
// not leave a flood of calls from a thread half handled for good
// (src/reactor/core.ts #scheduleLater: a batch past its slice waits for a
// later one; test/call-from-thread.ts). Prints `handled <n> of <n>`, and
// exits by itself.
import { createRequire } from 'node:module';

const timersModule = createRequire(import.meta.url)('node:timers') as { setImmediate: typeof setImmediate };
const dropped = (() => ({ ref() { return this; }, unref() { return this; }, hasRef: () => false })) as unknown as typeof setImmediate;
globalThis.setImmediate = dropped;
timersModule.setImmediate = dropped;
globalThis.queueMicrotask = () => {};

const { deferToThreadPool, reactor, ThreadPool } = await import('reactor-threads');
const { fireCalls } = await import('./bridge-tasks.cjs');

const n = 40_000;
let handled = 0;
// 20 us a call: the batches run past their slice.
const record = (): void => {
  handled++;
  const until = performance.now() + 0.02;
  while (performance.now() < until);
};
const pool = new ThreadPool({ maxThreads: 1 });
pool.start();
await deferToThreadPool(reactor, pool, fireCalls, record, n);
await pool.stop();
process.stdout.write(`handled ${handled} of ${n}\n`);
