// Threadable functions for the bridge tests: they run in pool threads and
// call back into the reactor they serve.
import { threadId } from 'node:worker_threads';
import { blockingCallFromThread, fromModule, reactor, threadable, transfer, type ModuleFunction } from 'reactor-threads';
import { logOnReactor } from './reactor-log.cjs';

/** Runs on the reactor: adds, and says where it ran. */
export const addOnReactor = threadable(function addOnReactor(a: number, b: number): { sum: number; threadId: number } {
  return { sum: a + b, threadId };
});
export const addLaterOnReactor = threadable(async function addLaterOnReactor(a: number, b: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 5));
  return a + b;
});
export const failOnReactor = threadable(function failOnReactor(m: string): never { throw new URIError(m); });
export const failLaterOnReactor = threadable(async function failLaterOnReactor(m: string): Promise<never> {
  await new Promise((r) => setTimeout(r, 5));
  throw new EvalError(m);
});
export const thenableOnReactor = threadable(function thenableOnReactor(v: number): PromiseLike<number> {
  return { then(resolve: (x: number) => void) { setTimeout(() => resolve(v * 2), 5); } } as PromiseLike<number>;
});
export const neverAnswers = threadable(function neverAnswers(): Promise<never> {
  return new Promise(() => { /* never settles */ });
});
export const answersAfter = threadable(function answersAfter(ms: number): Promise<string> {
  return new Promise((r) => setTimeout(() => r('late'), ms));
});

/** In a thread: calls `fn` on the reactor with `args`, and reports the outcome. */
export const callReactor = threadable(function callReactor(fn: string, ...args: unknown[]): unknown {
  const table: Record<string, Function> = { addOnReactor, addLaterOnReactor, failOnReactor, failLaterOnReactor, thenableOnReactor };
  return blockingCallFromThread(reactor, table[fn] as (...a: unknown[]) => unknown, ...args);
});

/** In a thread: returns the error that blockingCallFromThread threw, as data, and how long the call took (ms). */
export const callReactorCatching = threadable(function callReactorCatching(fn: string, timeout?: number, ...args: unknown[]): { name: string; code?: string; message: string; ms: number } {
  const table: Record<string, Function> = { neverAnswers, answersAfter, failOnReactor };
  const started = performance.now();
  try {
    const call = timeout ? blockingCallFromThread.with({ timeout }) : blockingCallFromThread;
    call(reactor, table[fn] as (...a: unknown[]) => unknown, ...args);
    return { name: 'none', message: 'no error', ms: performance.now() - started };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { name: err.name, code: err.code, message: err.message, ms: performance.now() - started };
  }
});

export const callFromModuleOnReactor = threadable(function callFromModuleOnReactor(): string {
  const plain = fromModule<(x: number) => string>('./tasks-esm.mjs', 'plainExport');
  return blockingCallFromThread(reactor, plain, 9);
});

/**
 * In a thread: calls the fromModule() references it was given on the
 * reactor: `later` with callFromThread, then `record` (so the reactor ran
 * `later` before it), then `now` with a blocking call, whose answer it returns.
 */
export const callGivenReferences = threadable(function callGivenReferences(
  refs: { later: ModuleFunction<(s: string) => void>; now: ModuleFunction<(x: number) => string> },
  record: (s: string) => void): string {
  reactor.callFromThread(refs.later, 'called from the thread');
  reactor.callFromThread(record, 'second');
  return blockingCallFromThread(reactor, refs.now, 9);
});

/** In a thread: a fromModule() reference made there, as the result. */
export const referenceFromThread = threadable(function referenceFromThread(): ModuleFunction<(x: number) => string> {
  return fromModule<(x: number) => string>('./tasks-esm.mjs', 'plainExport');
});

export const callPlainOnReactor = threadable(function callPlainOnReactor(): number {
  return blockingCallFromThread(reactor, (a: number, b: number) => a * b, 6, 7);
});

/** In a thread: calls the reactor with one of this thread's own functions. */
export const callReactorWithOwnFunction = threadable(function callReactorWithOwnFunction(): { name: string; message: string } {
  try {
    blockingCallFromThread(reactor, (g: () => number) => g(), () => 1);
    return { name: 'none', message: '' };
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
});

/** In a thread: n callFromThread calls to `record`, then returns n. */
export const fireCalls = threadable(function fireCalls(record: (i: number) => void, n: number): number {
  for (let i = 0; i < n; i++) reactor.callFromThread(record, i);
  return n;
});

/**
 * Calls `record(when)` on the reactor as fast as it can, for `ms`, counting
 * each call in `made[0]` before making it, if given (shared memory: the
 * reactor reads how many were made at an instant of its own, with no clock
 * compared across threads); returns how many it made.
 */
function flood(record: (postedAt: number) => void, ms: number, made: Int32Array | undefined): number {
  const end = Date.now() + ms;
  let n = 0;
  for (let now = Date.now(); now < end; now = Date.now(), n++) {
    if (made) Atomics.add(made, 0, 1);
    reactor.callFromThread(record, now);
  }
  return n;
}

/** In a thread: flood() for `ms`. */
export const floodFor = threadable(function floodFor(record: (postedAt: number) => void, ms: number, made: Int32Array): number {
  return flood(record, ms, made);
});

/**
 * In a thread: a callFromThread whose function the reactor must import
 * first, then one through a reactor callable, then the task's result.
 */
export const callsThatLoadFirst = threadable(function callsThatLoadFirst(record: (s: string) => void): string {
  reactor.callFromThread(logOnReactor, 'first, loaded on the reactor');
  reactor.callFromThread(record, 'second');
  return 'the result';
});

/**
 * In a thread: a callFromThread whose function takes 300 ms to load on the
 * reactor (`query` makes it a fresh load), then one through a reactor
 * callable; then the task ends: returns, or, with `exitCode`, ends its
 * thread with the task still running.
 */
export const callsThenEnds = threadable(function callsThenEnds(
  record: (s: string) => void, query: string, exitCode?: number): string {
  reactor.callFromThread(fromModule<(s: string) => void>(`./slow-log.mjs?${query}`, 'logSlowly'), 'first, loaded on the reactor');
  reactor.callFromThread(record, 'second');
  if (exitCode !== undefined) process.exit(exitCode);
  return 'the result';
});

/**
 * In a thread: a call whose function takes 300 ms to load on the reactor
 * (`query`: a fresh load), then flood() for `ms`: all of those calls wait
 * behind the first on the reactor.
 */
export const slowCallThenFlood = threadable(function slowCallThenFlood(
  record: (postedAt: number) => void, query: string, ms: number, made?: Int32Array): number {
  reactor.callFromThread(fromModule<(s: string) => void>(`./slow-log.mjs?${query}`, 'logSlowly'), 'loaded');
  return flood(record, ms, made);
});

/** In a thread: `n` calls through a reactor callable, then the thread ends under the task. */
export const callsThenExits = threadable(function callsThenExits(record: (i: number) => void, n: number, exitCode: number): never {
  for (let i = 0; i < n; i++) reactor.callFromThread(record, i);
  process.exit(exitCode);
});

/** In a thread: calls a reactor callable found anywhere in its argument. */
export const callNested = threadable(function callNested(arg: { list: [(x: number) => number]; deep: { f: (x: number) => number } }): number[] {
  return [arg.list[0](1), arg.deep.f(2)];
});

let stashed: (() => number) | undefined;
export const stashCallable = threadable(function stashCallable(f: () => number): number { stashed = f; return f(); });
export const callStashed = threadable(function callStashed(): { name: string; value?: number } {
  try {
    return { name: 'none', value: stashed!() };
  } catch (e) {
    return { name: (e as Error).name };
  }
});
export const callTwice = threadable(function callTwice(f: () => number): number { return f() + f(); });

/** In a thread: non-blocking calls through proxies, then a last one to say done. */
export const notifyThrough = threadable(function notifyThrough(note: (s: string) => void, done: () => void): void {
  reactor.callFromThread(note, 'a');
  reactor.callFromThread(note, 'b');
  reactor.callFromThread(done);
});

/** In a thread: calls the reactor callable `f` (a blocking call) and returns its result. */
export const callProxy = threadable(function callProxy(f: () => unknown): unknown {
  return f();
});


export const failsOnReactor = threadable(function failsOnReactor(): never { throw new SyntaxError('reactor side'); });
/** In a thread: a blocking call that fails, its stack returned as data. */
export const stackOfFailedCall = threadable(function stackOfFailedCall(): string {
  try {
    blockingCallFromThread(reactor, failsOnReactor);
    return 'no error';
  } catch (e) {
    return (e as Error).stack ?? '';
  }
});

/** On the reactor: throws an error with `n` causes below it. */
export const failsDeepOnReactor = threadable(function failsDeepOnReactor(n: number): never {
  let e = new Error('cause 0');
  for (let i = 1; i <= n; i++) e = new Error(`cause ${i}`, { cause: e });
  throw e;
});
/** In a thread: a blocking call whose function throws `n` causes deep; how deep the chain came, and how it ends. */
export const depthOfFailedCall = threadable(function depthOfFailedCall(n: number): { depth: number; last: string; code: unknown } {
  try {
    blockingCallFromThread(reactor, failsDeepOnReactor, n);
    return { depth: -1, last: '', code: undefined };
  } catch (e) {
    let depth = 0;
    let last = e as Error;
    for (; last.cause instanceof Error; last = last.cause) depth++;
    return { depth, last: last.message, code: (last as { code?: unknown }).code };
  }
});

/** Arrays nested `n` deep around 0. */
function nestedArrays(n: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}
/** How deep arrays nest in `v`. */
export const depthOf = threadable(function depthOf(v: unknown): number {
  let depth = 0;
  for (let x = v; Array.isArray(x); x = x[0]) depth++;
  return depth;
});
/** Arrays nested `n` deep, made in the thread that runs it. */
export const nestedArraysOf = threadable(function nestedArraysOf(n: number): unknown { return nestedArrays(n); });
/** In a thread: a blocking call of depthOf on the reactor with arrays nested `n` deep; its answer, or its error as data. */
export const sendNestedToReactor = threadable(function sendNestedToReactor(n: number): { depth?: number; name?: string; code?: string; path?: string; message?: string } {
  try {
    return { depth: blockingCallFromThread(reactor, depthOf, nestedArrays(n)) };
  } catch (e) {
    const err = e as Error & { code?: string; path?: string };
    return { name: err.name, code: err.code, path: err.path, message: err.message };
  }
});

/** Throws an error whose stack is `stack` (as a framework that rewrites stacks would leave it). */
export const throwWithStack = threadable(function throwWithStack(stack: string): never {
  const e = new Error('x');
  e.stack = stack;
  throw e;
});

/** In a thread: a blocking call refused by the library (a symbol cannot be sent); its failure is the task's. */
export const sendsSymbolToReactor = threadable(function sendsSymbolToReactor(): unknown {
  return blockingCallFromThread(reactor, failsOnReactor as (s: symbol) => never, Symbol('unsendable'));
});

const echoOnReactor = threadable(function echoOnReactor(v: unknown): unknown { return v; });
const throwOnReactor = threadable(function throwOnReactor(e: unknown): never { throw e; });
/** In a thread: sends `v` to the reactor and back. */
export const echoThroughReactor = threadable(function echoThroughReactor(v: unknown): unknown {
  return blockingCallFromThread(reactor, echoOnReactor, v);
});
/** In a thread: has the reactor throw `e`, and throws what comes back. */
export const throwThroughReactor = threadable(function throwThroughReactor(e: unknown): never {
  blockingCallFromThread(reactor, throwOnReactor, e);
  throw new Error('the reactor did not throw');
});

/**
 * In a thread: stops its own pool through `stop` (a reactor callable),
 * then makes a blocking call that moves `bytes`, which the stopped pool
 * refuses. Returns the error and what is left of the buffer here.
 */
export const moveAfterStop = threadable(function moveAfterStop(stop: () => void, bytes: ArrayBuffer): { error: string; byteLength: number; sum: number } {
  try { stop(); } catch { /* stop() ends this very call with PoolStoppedError */ }
  let error = 'none';
  try {
    blockingCallFromThread(reactor, echoOnReactor, transfer(bytes));
  } catch (e) {
    error = (e as Error).name;
  }
  const sum = bytes.byteLength ? new Uint8Array(bytes).reduce((a, x) => a + x, 0) : 0;  // a detached buffer has none
  return { error, byteLength: bytes.byteLength, sum };
});

/** In a thread: calls `f` on the reactor, handing it a function of this thread (which it cannot call back while this thread waits). */
export const callWithOwnFunction = threadable(function callWithOwnFunction(f: (g: (b: ArrayBuffer) => number) => unknown): unknown {
  return f((b: ArrayBuffer) => b.byteLength);
});

/** Runs on the reactor: a string of `n` x's, or (as v8's format carries it) a Map, or bytes. */
export const replyOfSize = threadable(function replyOfSize(kind: 'string' | 'map' | 'bytes', n: number): unknown {
  if (kind === 'map') return new Map([['n', 'x'.repeat(n)]]);
  if (kind === 'bytes') return new Uint8Array(n).fill(n & 0xff);
  return 'x'.repeat(n);
});

/**
 * In a thread: one call per size in `sizes` (of `kind`), in order, every
 * reply kept until the end: whether each is whole and still what came
 * (a later reply written where an earlier one was read must not change it).
 */
export const repliesOfSizes = threadable(function repliesOfSizes(kind: 'string' | 'map' | 'bytes', sizes: number[]): boolean[] {
  const replies = sizes.map((n) => blockingCallFromThread(reactor, replyOfSize, kind, n));
  const whole = (r: unknown, n: number): boolean => {
    if (kind === 'map') return r instanceof Map && r.get('n') === 'x'.repeat(n);
    if (kind === 'bytes') return r instanceof Uint8Array && r.length === n && r.every((b) => b === (n & 0xff));
    return r === 'x'.repeat(n);
  };
  return replies.map((r, i) => whole(r, sizes[i]!));
});
/**
 * Calls `cb` every `ms` for `times` rounds, ignoring its signal; counts in
 * refused[0] the calls refused with CallableReleasedError.
 */
export const keepCalling = threadable(async function keepCalling(cb: (i: number) => void, times: number, ms: number, refused: Int32Array): Promise<void> {
  for (let i = 0; i < times; i++) {
    try {
      cb(i);
    } catch (e) {
      if ((e as Error).name === 'CallableReleasedError') Atomics.add(refused, 0, 1);
    }
    await new Promise((r) => setTimeout(r, ms));
  }
});
