// Tasks of the extended chaos run (chaos-api.mts): those of _chaos-tasks.cts,
// plus value-checked ones: checksums of moved buffers, async tasks that
// overlap, currentTask().signal, reactor callables (blocking and by
// callFromThread), callFromThread of a threadable on the reactor, shared
// memory, heap growth for maxHeapPerThread, steps of callMultipleInThread.
import { blockingCallFromThread, currentTask, reactor, threadable, transfer } from 'reactor-threads';
import { threadId } from 'node:worker_threads';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const triple = threadable(function triple(i: number): number { return i * 3; });
// The plain ones are chaos.mts's.
export { sleep, spin, fail, die, print, askReactor, askReactorWithin } from './_chaos-tasks.cjs';

/** A checksum of bytes (the same function runs on the main thread to check). */
export function sumOf(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s = (Math.imul(s, 31) + b[i]!) >>> 0;
  return s;
}
export const checksum = threadable(function checksum(b: Uint8Array): number { return sumOf(b); });
/** The checksum, and the buffer back (moved) after `ms`. */
export const echoSum = threadable(async function echoSum(b: Uint8Array, ms: number): Promise<{ sum: number; b: Uint8Array }> {
  const sum = sumOf(b);
  if (ms > 0) await delay(ms);
  return { sum, b: transfer(b) };
});
export function pattern(n: number, k: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * k + (i >> 8)) & 255;
  return b;
}
export const makePattern = threadable(function makePattern(n: number, k: number): Uint8Array { return transfer(pattern(n, k)); });
export const add = threadable(function add(a: number, b: number): number { return a + b; });

/** Async, overlapping: i * 7, plus a blocking call to the reactor (3i) if `ask`. */
export const asyncCompute = threadable(async function asyncCompute(i: number, ms: number, ask: boolean): Promise<number> {
  await delay(ms);
  let r = i * 7;
  if (ask) r += blockingCallFromThread(reactor, triple, i);
  await delay(ms);
  return r;
});

/** Waits for its task's signal, or `ms`: 'aborted' or 'timeout'. */
export const waitAbort = threadable(function waitAbort(ms: number): Promise<string> {
  const { signal } = currentTask();
  if (signal.aborted) return Promise.resolve('already');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve('aborted'); });
  });
});

/** Calls the reactor callable f(i) for i < n (blocking calls); the sum. */
export const callBack = threadable(function callBack(f: (i: number) => number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s;
});
/** Non-blocking calls of the proxy f(i), i < n, then n. */
export const notifyBack = threadable(function notifyBack(f: (i: number) => void, n: number): number {
  for (let i = 0; i < n; i++) reactor.callFromThread(f, i);
  return n;
});

/** On the reactor: what callFromThread(record, ...) brought, by token. */
export const records = new Map<string, Array<[number, number]>>();
export const record = threadable(function record(token: string, i: number, tid: number): void {
  let r = records.get(token);
  if (!r) records.set(token, r = []);
  r.push([i, tid]);
});
/** callFromThread(record) n times, then the thread's id. */
export const sendRecords = threadable(function sendRecords(token: string, n: number): number {
  for (let i = 0; i < n; i++) reactor.callFromThread(record, token, i, threadId);
  return threadId;
});
/** One step of a callMultipleInThread list: records itself, then throws if `fail`. */
export const step = threadable(async function step(token: string, i: number, fail: boolean, ms: number): Promise<void> {
  reactor.callFromThread(record, token, i, threadId);
  if (ms > 0) await delay(ms);
  if (fail) throw new RangeError(`stop ${token}`);
});

/** Shared memory: adds n to v[0], returns v[1] as the thread sees it. */
export const sabAdd = threadable(function sabAdd(v: Int32Array, n: number): number {
  const seen = Atomics.load(v, 1);
  Atomics.add(v, 0, n);
  return seen;
});

/** Keeps `kb` KiB more in the thread's heap; the total kept. */
const kept: number[][] = [];
export const grow = threadable(function grow(kb: number): number {
  kept.push(new Array(kb * 128).fill(1.5));
  return kept.length;
});
export const whoAmI = threadable(function whoAmI(): number { return threadId; });

/** Floods the reactor with n callFromThread(record) calls; returns n. */
export const flood = threadable(function flood(token: string, n: number): number {
  for (let i = 0; i < n; i++) reactor.callFromThread(record, token, i, threadId);
  return n;
});
/** On the reactor: a slow function (busy ms). */
export const slowOnReactor = threadable(function slowOnReactor(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
});
/** A reactor function that resolves after ms. */
export const laterOnReactor = threadable(async function laterOnReactor(ms: number): Promise<number> { await delay(ms); return ms; });
/** A blocking call to the reactor that waits ms there. */
export const parkFor = threadable(function parkFor(ms: number): number { return blockingCallFromThread(reactor, laterOnReactor, ms); });
let stashed: ((i: number) => number) | undefined;
export const stash = threadable(function stash(f: (i: number) => number): number { stashed = f; return f(1); });
export const callStashed = threadable(function callStashed(): number { return stashed!(2); });
