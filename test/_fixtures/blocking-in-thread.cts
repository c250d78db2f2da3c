// Threadable functions for test/blocking-call-in-thread.ts: they run in a
// pool thread while the calling thread waits for them, synchronously.
import { writeFileSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import {
  blockingCallFromThread, blockingCallInThread, currentTask, reactor, threadable, ThreadPool, transfer,
} from 'reactor-threads';

export const add = threadable(function add(a: number, b: number): number { return a + b; });
export const addLater = threadable(async function addLater(a: number, b: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 5));
  return a + b;
});
export const fail = threadable(function fail(m: string): never { throw new URIError(m); });
export const failLater = threadable(async function failLater(m: string): Promise<never> {
  await new Promise((r) => setTimeout(r, 5));
  throw new EvalError(m);
});
export const echo = threadable(function echo<T>(v: T): T { return v; });

/** A moved buffer of `n` bytes, byte i = i % 251: big enough to go by port if this were an ordinary task. */
export const movedBytes = threadable(function movedBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return transfer(b);
});
export const sumBytes = threadable(function sumBytes(b: Uint8Array): number {
  let s = 0;
  for (const x of b) s += x;
  return s;
});

/** Whether the last watchSignal() in this thread saw its signal abort. */
let sawAbort = false;
export const watchSignal = threadable(async function watchSignal(): Promise<string> {
  const { signal } = currentTask()!;
  sawAbort = false;
  while (!signal.aborted) await new Promise((r) => setTimeout(r, 5));
  sawAbort = true;
  return 'aborted';
});
export const lastSawAbort = threadable(function lastSawAbort(): boolean { return sawAbort; });

/** Keeps its thread busy (synchronously: nothing else runs there meanwhile) for `ms`. */
export const spinFor = threadable(function spinFor(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
});
export const exitThread = threadable(function exitThread(code: number): never { process.exit(code); });
/**
 * Sets flag[1] = 1 (started), keeps its thread busy until flag[0] leaves 0
 * or `ms` pass, then ends the thread: the caller, which may block meanwhile,
 * learns that the task started without a timed poll.
 */
export const holdThenExit = threadable(function holdThenExit(flag: Int32Array, ms: number): never {
  Atomics.store(flag, 1, 1);
  Atomics.notify(flag, 1);
  Atomics.wait(flag, 0, 0, ms);
  process.exit(7);
});

export const logThen = threadable(function logThen(lines: number, value: string): string {
  for (let i = 0; i < lines; i++) console.log(`log line ${i} of ${value}`);
  return value;
});

export const onReactor = threadable(function onReactor(): string { return 'served'; });
/** Calls back into the reactor that waits for this very task. */
export const callBack = threadable(function callBack(): string {
  return blockingCallFromThread(reactor, onReactor);
});

/**
 * In a pool thread: a pool of its own, on whose thread it waits for `f`.
 * callBack there calls this thread, which waits for it: a cycle through
 * two pools.
 */
export const throughOwnPool = threadable(async function throughOwnPool(which: 'add' | 'callBack'): Promise<unknown> {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  try {
    return which === 'add' ? blockingCallInThread.with({ pool })(add, 40, 2) : blockingCallInThread.with({ pool })(callBack);
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  } finally {
    await pool.stop();
  }
});

/** The pool that onReactorWaitsOnPool waits on: set by the test, on the thread that owns it. */
let ownerPool: ThreadPool | undefined;
export function setOwnerPool(pool: ThreadPool): void { ownerPool = pool; }
/** On the owner, serving a pool thread's blocking call: waits, in turn, for a task of that pool. */
export const onReactorWaitsOnPool = threadable(function onReactorWaitsOnPool(): string {
  try {
    return String(blockingCallInThread.with({ pool: ownerPool! })(add, 1, 2));
  } catch (e) {
    return (e as Error).constructor.name;
  }
});
/** In a pool thread: parks on its owner, which then waits on this pool. */
export const parksOnOwner = threadable(function parksOnOwner(): string {
  return blockingCallFromThread(reactor, onReactorWaitsOnPool);
});
const onOwner = threadable(function onOwner(): string { return 'owner'; });
/** An onThreadStart hook: a blocking call to the pool's owner, before the thread takes any task. */
export const askOwnerAtStart = threadable(function askOwnerAtStart(): void {
  blockingCallFromThread(reactor, onOwner);
});
/**
 * In a pool thread, with this task in flight: lets the thread wait for
 * work (it is in its pool's waiting list), then parks it for `ms` in a
 * blockingCallInThread on a pool of its own, writing `marker` just before.
 */
export const parkOnOwnPoolLater = threadable(async function parkOnOwnPoolLater(ms: number, marker: string): Promise<number> {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  try {
    blockingCallInThread.with({ pool })(add, 0, 0);  // (its thread is up)
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(marker, 'parking');
    return blockingCallInThread.with({ pool })(spinFor, ms);
  } finally {
    await pool.stop();
  }
});

function notInPoolThreadsBody(x: number): number { return x + 1; }
/**
 * x + 1, registered by a conditional threadable() everywhere but in a pool
 * thread: a thread that imports this module does not find it.
 */
export const notInPoolThreads = (workerData as { kind?: string } | null)?.kind === 'reactor-threads.pool-thread'
  ? notInPoolThreadsBody : threadable(notInPoolThreadsBody);

/**
 * In a pool thread: parks in a blockingCallInThread on a pool of its own,
 * for a task that ends only when its signal aborts, after setting flag[0]
 * (it is about to park). Returns the class of what ended the wait.
 */
export const parkOnOwnPoolUntilStopped = threadable(async function parkOnOwnPoolUntilStopped(flag: Int32Array): Promise<string> {
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  try {
    blockingCallInThread.with({ pool })(add, 0, 0);  // (its thread is up)
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return String(blockingCallInThread.with({ pool })(watchSignal));
  } catch (e) {
    return (e as Error).constructor.name;
  } finally {
    await pool.stop();
  }
});

/** Waits `ms` on this thread's loop, then calls its owner (a task beside a blockingCallInThread on the same thread). */
export const callBackAfter = threadable(async function callBackAfter(ms: number): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  return blockingCallFromThread(reactor, onReactor);
});
