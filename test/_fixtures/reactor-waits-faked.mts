// A test runner's fake timers, installed before the package loads and
// uninstalled later, dropping what was queued on them (jest's and
// vitest's do), must not stop the reactor's waits for a next call for good
// (src/reactor/core.ts, #converse; test/reactor-conversation.ts). Phase 1:
// blocking calls back to back under a setImmediate that never runs, on
// the global and on the timers module; then the real one is back, and
// after 150 ms, phase 2's calls. Prints `waits <phase 1> <phase 2>`.
import { createRequire } from 'node:module';

const timersModule = createRequire(import.meta.url)('node:timers') as { setImmediate: typeof setImmediate };
const real = globalThis.setImmediate;
const dropped = (() => ({ ref() { return this; }, unref() { return this; }, hasRef: () => false })) as unknown as typeof setImmediate;
globalThis.setImmediate = dropped;
timersModule.setImmediate = dropped;

const { deferToThreadPool, reactor, ThreadPool } = await import('reactor-threads');
const { native } = await import('../../dist/reactor/native.js');
const { callsAnswered } = await import('./late-answers.cjs');

const awaitMessage = native.awaitMessage.bind(native);
let waits = 0;
native.awaitMessage = (spinNs: number): boolean => {
  waits++;
  return awaitMessage(spinNs);
};
const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
pool.start();
await deferToThreadPool(reactor, pool, callsAnswered, false, 200);
const faked = waits;
globalThis.setImmediate = real;
timersModule.setImmediate = real;
await new Promise((resolve) => setTimeout(resolve, 150));
waits = 0;
await deferToThreadPool(reactor, pool, callsAnswered, false, 2000);
await pool.stop();
process.stdout.write(`waits ${faked} ${waits}\n`);
