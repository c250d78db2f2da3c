// Threadable task functions used by the tests (a CommonJS module).
import { fork } from 'node:child_process';
import { appendFileSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { isMainThread, threadId } from 'node:worker_threads';
import { currentTask, deferToThread, reactor, threadable, ThreadPool, transfer } from 'reactor-threads';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const add = threadable(function add(a: number, b: number): number { return a + b; });
export const addLater = threadable(async function addLater(a: number, b: number): Promise<number> {
  await delay(5);
  return a + b;
});
export const fail = threadable(function fail(message: string): never { throw new TypeError(message); });
export const failLater = threadable(async function failLater(message: string): Promise<never> {
  await delay(5);
  throw new RangeError(message);
});
export const whereAmI = threadable(function whereAmI(): { threadId: number; io: boolean } {
  return { threadId, io: reactor.isInIOThread() };
});
/** Tells `tell` (a reactor callable) where it runs: a task run fire-and-forget returns nothing. */
export const tellWhere = threadable(function tellWhere(tell: (where: { threadId: number; io: boolean; mainThread: boolean }) => void): void {
  tell({ threadId, io: reactor.isInIOThread(), mainThread: isMainThread });
});
export const sleep = threadable(async function sleep(ms: number): Promise<number> {
  await delay(ms);
  return threadId;
});
/** Waits (up to 10 s) for gate[0] to leave 0; returns the thread's id. */
export const threadAfterGate = threadable(function threadAfterGate(gate: Int32Array): number {
  Atomics.wait(gate, 0, 0, 10_000);
  return threadId;
});

export const spin = threadable(function spin(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return threadId;
});

/** How many runOrder calls this thread ran before. */
let runsHere = 0;
/** Spins `ms`, then says where it ran and how many runOrder calls ran there before it: the order they ran in. */
export const runOrder = threadable(function runOrder(ms: number): { threadId: number; ranBefore: number } {
  const ranBefore = runsHere++;
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return { threadId, ranBefore };
});

/** Spins `ms`, then says when it ran and where (ms since the epoch). */
/** Awaits a 5 ms timer (its "I/O"), then spins `ms`: an async task that computes once its await ends. */
export const awaitThenSpin = threadable(async function awaitThenSpin(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return threadId;
});

export const spinSpan = threadable(function spinSpan(ms: number): { start: number; end: number; threadId: number } {
  const start = performance.timeOrigin + performance.now();
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return { start, end: performance.timeOrigin + performance.now(), threadId };
});

/** Calls deferToThread from inside a pool thread. */
export const nestedAdd = threadable(async function nestedAdd(a: number, b: number): Promise<{ sum: number; outer: number; inner: number }> {
  const inner = await deferToThread(whereAmI);
  return { sum: await deferToThread(add, a, b), outer: threadId, inner: inner.threadId };
});

/** Returns `n` bytes of 9, moved rather than copied. */
export const makeBytes = threadable(function makeBytes(n: number): Uint8Array {
  return transfer(new Uint8Array(n).fill(9));
});

/** What arrived: its type, length and the sum of its bytes. */
export const sumBytes = threadable(function sumBytes(b: ArrayBuffer | ArrayBufferView): { type: string; byteLength: number; sum: number } {
  const bytes = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i]!;
  return { type: b.constructor.name, byteLength: b.byteLength, sum };
});

/** Sends back what it was given, moved. */
export const echoMoved = threadable(function echoMoved(b: ArrayBuffer): ArrayBuffer {
  return transfer(b);
});
export const echoMovedFloats = threadable(function echoMovedFloats(f: Float64Array): Float64Array {
  return transfer(f);
});

/** Writes a line to stdout (so the result waits for it to flush), then returns `n` bytes of 9, moved. */
export const logThenBytes = threadable(function logThenBytes(n: number): Uint8Array {
  process.stdout.write(`logThenBytes: ${n} bytes follow\n`);
  return transfer(new Uint8Array(n).fill(9));
});

/** Appends `<threadId>:<label>` to a file: the order calls ran in, and where. */
export const appendLine = threadable(function appendLine(file: string, label: string): void {
  appendFileSync(file, `${threadId}:${label}\n`);
});
/** appendLine after `ms`: an async call whose effect comes later. */
export const appendLineLater = threadable(async function appendLineLater(file: string, label: string, ms: number): Promise<number> {
  await delay(ms);
  appendFileSync(file, `${threadId}:${label}\n`);
  return ms;
});

/** The CPU count this thread sees, and the max a new pool gets from it. */
export const cpuCounts = threadable(async function cpuCounts(): Promise<{ availableParallelism: number; defaultMax: number }> {
  const pool = new ThreadPool();
  const defaultMax = pool.max;
  await pool.stop();
  return { availableParallelism: availableParallelism(), defaultMax };
});

export class CustomError extends Error {
  constructor(message: string, readonly detail: number) {
    super(message);
    this.name = 'CustomError';
  }
}
threadable(CustomError);
export const failCustom = threadable(function failCustom(detail: number): never {
  throw new CustomError('custom failure', detail);
});

class UnregisteredError extends Error {
  override name = 'UnregisteredError';
}
export const failUnregistered = threadable(function failUnregistered(): never {
  throw new UnregisteredError('nobody registered me');
});
export const throwValue = threadable(function throwValue(v: unknown): never { throw v; });
export const returnFunction = threadable(function returnFunction(): unknown { return () => 1; });

// Per-thread state, to see what a thread does while it is idle.
let ticks = 0;
let timerFired = false;
export const startTicking = threadable(function startTicking(): number {
  setInterval(() => { ticks++; }, 5).unref();
  return threadId;
});
export const readTicks = threadable(function readTicks(): { ticks: number; threadId: number } {
  return { ticks, threadId };
});
export const leaveTimerBehind = threadable(function leaveTimerBehind(): number {
  void delay(20).then(() => { timerFired = true; });
  return threadId;
});
export const readTimerFired = threadable(function readTimerFired(): { fired: boolean; threadId: number } {
  return { fired: timerFired, threadId };
});
/**
 * Leaves a timer behind that computes until flags[1] leaves 0 (at most
 * 10 s), having set flags[0] to 1 as it began; returns the thread's id.
 */
export const leaveBusyTimer = threadable(function leaveBusyTimer(flags: Int32Array): number {
  setTimeout(() => {
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    const end = Date.now() + 10_000;
    while (Atomics.load(flags, 1) === 0 && Date.now() < end) { /* busy */ }
  }, 0);
  return threadId;
});

// Two functions of one name in one module, and an anonymous one.
export const firstTwin = threadable('twin', () => 'first');
export const secondTwin = threadable('twin', () => 'second');
export const anonymous = threadable((x: number) => x * 10);

/** Ends the thread that runs it. */
export const exitThread = threadable(function exitThread(code: number): never {
  process.exit(code);
});

/** Sleeps `ms`; returns when it started and ended (absolute ms) and where. */
export const sleepSpan = threadable(async function sleepSpan(ms: number): Promise<{ start: number; end: number; threadId: number }> {
  const start = performance.timeOrigin + performance.now();
  await delay(ms);
  return { start, end: performance.timeOrigin + performance.now(), threadId };
});

/** Calls `arrive` (a reactor callable that answers once enough tasks arrived) and says where it ran. */
export const meet = threadable(function meet(arrive: () => void): number {
  arrive();
  return threadId;
});

/** A class that crosses threads as itself. */
export class Point {
  constructor(readonly x: number, readonly y: number) {}
  length(): number { return Math.hypot(this.x, this.y); }
}
threadable(Point);
/** Registered, with private state, which an instance made in another thread (its constructor not run) cannot have. */
export class Vault {
  #secret = 1;
  constructor(readonly label: string) {}
  reveal(): number { return this.#secret; }
}
threadable(Vault);
/** Unregistered: the private member of Locker's superclass. */
class Guarded {
  get #x(): number { return 1; }
  check(): number { return this.#x; }
}
/** Registered; its private member is its superclass's. */
export class Locker extends Guarded {
  constructor(readonly label: string) { super(); }
}
threadable(Locker);
/** Registered, with only a static private member, which lives on the class in every thread, not on its instances. */
export class Tally {
  static #made = 0;
  constructor(readonly n: number) { Tally.#made++; }
  static made(): number { return Tally.#made; }
}
threadable(Tally);
/** A Vault (in a list) or a Locker, made in a thread. */
export const makeGuarded = threadable(function makeGuarded(which: string): object {
  return which === 'Vault' ? { at: [new Vault('v')] } : new Locker('l');
});
export const describePoint = threadable(function describePoint(p: Point): { isPoint: boolean; length: number } {
  return { isPoint: p instanceof Point, length: p.length() };
});
export const makePoint = threadable(function makePoint(x: number, y: number): Point { return new Point(x, y); });
export const returnUrl = threadable(function returnUrl(): { at: URL } { return { at: new URL('https://example.test/') }; });
export const identity = threadable(function identity<T>(v: T): T { return v; });
/** An instance of a subclass of the built-in named `base` (Array, Map, Set, Date or RegExp). */
export const returnsSubclass = threadable(function returnsSubclass(base: string): object {
  switch (base) {
    case 'Array': return new (class Row extends Array<number> {})();
    case 'Map': return new (class Index extends Map {})();
    case 'Set': return new (class Tags extends Set {})();
    case 'Date': return new (class Stamp extends Date {})(0);
    default: return new (class Pattern extends RegExp {})('a');
  }
});
export const readMissingFile = threadable(function readMissingFile(path: string): string {
  return require('node:fs').readFileSync(path, 'utf8') as string;
});

/** Waits for its cancellation, then notes it in `file`. */
export const waitForAbort = threadable(function waitForAbort(file: string): Promise<string> {
  const { signal, id } = currentTask();
  appendFileSync(file, `${id}:started\n`);
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => {
      appendFileSync(file, `${id}:aborted ${(signal.reason as Error).name}\n`);
      resolve('aborted');
    });
  });
});
/** As waitForAbort, but its answer to the abort needs a turn of its thread's loop: a timer, or I/O. */
export const waitForAbortThen = threadable(function waitForAbortThen(file: string, then: 'timer' | 'io'): Promise<string> {
  const { signal, id } = currentTask();
  appendFileSync(file, `${id}:started\n`);
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => {
      if (then === 'timer') {
        setTimeout(() => { appendFileSync(file, `${id}:aborted after a timer\n`); resolve('aborted'); }, 0);
      } else {
        void fsp.appendFile(file, `${id}:aborted after I/O\n`).then(() => resolve('aborted'));
      }
    });
  });
});
/** Ignores every cancellation: spins for `ms`. */
export const ignoreAbort = threadable(function ignoreAbort(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return threadId;
});

/** Allocates until the thread runs out of memory. */
export const exhaustMemory = threadable(function exhaustMemory(): number {
  const hoard: number[][] = [];
  for (;;) hoard.push(new Array(1_000_000).fill(hoard.length));
});
/** Recurses until the stack overflows. */
export const overflowStack = threadable(function overflowStack(n: number): number {
  return overflowStack(n + 1) + 1;
});

/** Ends its thread (exit code 7) only when asked, so it can be loaded first. */
export const exitIf = threadable(function exitIf(exit: boolean): string {
  if (exit) process.exit(7);
  return 'stayed';
});
/** Goes async, then kills its thread with an uncaught error after `ms`. */
export const crashSoon = threadable(async function crashSoon(ms: number): Promise<never> {
  setTimeout(() => { throw new Error('crashed by a timer'); }, ms);
  return new Promise<never>(() => { /* never settles */ });
});
/** Points inside a Map and a Set: do they arrive as Points? */
export const describePointsIn = threadable(function describePointsIn(c: { map: Map<string, Point>; set: Set<Point> }): boolean[] {
  return [c.map.get('p') instanceof Point, ...[...c.set].map((p) => p instanceof Point)];
});
export const makePointCollections = threadable(function makePointCollections(): { map: Map<string, Point>; set: Set<Point> } {
  return { map: new Map([['p', new Point(3, 4)]]), set: new Set([new Point(6, 8)]) };
});

/** This thread's process.execArgv, and that of a child process forked from it (fork passes it on). */
export const execArgvHere = threadable(function execArgvHere(): Promise<{ thread: string[]; forked: string[] }> {
  const child = fork(join(__dirname, 'report-exec-argv.cjs'));
  return new Promise((resolve, reject) => {
    child.once('message', (forked) => resolve({ thread: [...process.execArgv], forked: forked as string[] }));
    // ('close', not 'exit': 'exit' may come before the message the child sent as it exited is read,
    // as it did twice under wine with Node 24 for Windows.)
    child.once('close', (code) => reject(new Error(`the forked child exited (${code}) without reporting`)));
    child.once('error', reject);
  });
});

/** Keeps its task's currentTask() past the task's end, for `signalOfKeptTaskIsFreed`. */
let keptTask: ReturnType<typeof currentTask> | undefined;
export const keepCurrentTask = threadable(function keepCurrentTask(): number {
  keptTask = currentTask();
  return threadId;
});
/**
 * Reads the signal of the task `keepCurrentTask` kept, after that task
 * ended, drops it, and says whether the thread freed the signal (collected
 * within 50 full collections) and whether it was aborted.
 */
export const signalOfKeptTaskIsFreed = threadable(async function signalOfKeptTaskIsFreed(): Promise<{ aborted: boolean; same: boolean; freed: boolean }> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let freed = false;
  const registry = new FinalizationRegistry(() => { freed = true; });
  // In a function of its own, so that no variable of this one holds them.
  const read = (): { aborted: boolean; same: boolean } => {
    const task = keptTask!;
    keptTask = undefined;
    const signal = task.signal;
    registry.register(signal, 'signal');
    return { aborted: signal.aborted, same: task.signal === signal };
  };
  const seen = read();
  for (let i = 0; i < 50 && !freed; i++) {
    gc();
    await delay(5);
  }
  return { ...seen, freed };
});
