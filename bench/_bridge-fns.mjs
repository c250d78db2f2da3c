// Functions for bench/bridge.mjs. Every thread that receives one of these
// imports this module and looks the function up by name, so the module has
// no start-up side effects.
//
// Main-side functions (called through the bridge, run on the reactor):
//   plusOne, resolvedPromise, nextImmediate  the three measured variants
//   resolveAfter                              the long call of the CPU test
// Pool-side functions (run in a pool thread by deferToThreadPool):
//   runCalls   times blockingCallFromThread round trips
//   parkOnce   one blocking call that parks the thread
//   stamp      the task start time, for the wake-up figure
import { blockingCallFromThread, reactor, threadable, transfer } from 'reactor-threads';

// ---- main side: the three f variants --------------------------------------

/** (a) a plain number */
export const plusOne = threadable(function plusOne(x) { return x + 1; });
/** (b) an already-resolved Promise */
export const resolvedPromise = threadable(function resolvedPromise(x) { return Promise.resolve(x + 1); });
/** (c) a Promise resolved on the next setImmediate (one more loop turn on main) */
export const nextImmediate = threadable(function nextImmediate(x) {
  return new Promise((resolve) => setImmediate(() => resolve(x + 1)));
});

export const VARIANTS = { a: plusOne, b: resolvedPromise, c: nextImmediate };

// ---- main side: the parked-caller CPU test ---------------------------------

/**
 * Resolves after `ms`. It samples process.cpuUsage() when it starts (the
 * caller is parked by then) and when it resolves; the samples stay in this
 * module's instance on the main thread, for bridge.mjs to read.
 */
export const cpuWindow = { start: null, end: null, ms: 0 };
export const resolveAfter = threadable(function resolveAfter(ms) {
  cpuWindow.start = process.cpuUsage();
  const t0 = performance.now();
  return new Promise((resolve) => setTimeout(() => {
    cpuWindow.end = process.cpuUsage(cpuWindow.start);
    cpuWindow.ms = performance.now() - t0;
    resolve(ms);
  }, ms));
});

// ---- pool side --------------------------------------------------------------

const napper = new Int32Array(new SharedArrayBuffer(4));  // never signalled: Atomics.wait on it is a sleep

/**
 * In a pool thread: `warm` untimed then `n` timed blockingCallFromThread
 * calls of VARIANTS[variant]; with `gapMs` > 0 it sleeps that long before
 * every call (isolated calls). Returns the latencies in µs.
 */
export const runCalls = threadable(function runCalls(variant, warm, n, gapMs) {
  const f = VARIANTS[variant];
  for (let i = 0; i < warm; i++) {
    if (gapMs > 0) Atomics.wait(napper, 0, 0, gapMs);
    if (blockingCallFromThread(reactor, f, i) !== i + 1) throw new Error('wrong answer');
  }
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (gapMs > 0) Atomics.wait(napper, 0, 0, gapMs);
    const t0 = process.hrtime.bigint();
    const r = blockingCallFromThread(reactor, f, i);
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (r !== i + 1) throw new Error('wrong answer');
  }
  return transfer(lat);
});

/** In a pool thread: one blocking call that lasts `ms` on main. */
export const parkOnce = threadable(function parkOnce(ms) {
  return blockingCallFromThread(reactor, resolveAfter, ms);
});

/**
 * In a pool thread: when this task started, as the absolute clock
 * timeOrigin + now (ms), and as process.hrtime (ns, one monotonic clock for
 * the whole process) for a cross-check.
 */
export const stamp = threadable(function stamp() {
  const abs = performance.timeOrigin + performance.now();
  return [abs, Number(process.hrtime.bigint())];
});
