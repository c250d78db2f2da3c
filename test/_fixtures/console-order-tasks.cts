// Threadables for test/console-order.ts: tasks that print, on either
// stream, in several encodings, then return.
import { blockingCallFromThread, deferToThreadPool, reactor, threadable, ThreadPool } from 'reactor-threads';

/** Prints `out <i>` on `stream` ('stdout', 'stderr', or 'both': stdout, then stderr), then returns `i`. */
export const printLine = threadable(function printLine(stream: string, i: number): number {
  if (stream !== 'stderr') console.log(`out ${i}`);
  if (stream !== 'stdout') console.error(`err ${i}`);
  return i;
});

/** Prints `line <i> of <task>` on stdout for i < `count`, then spins for `spinMs`, ignoring any cancellation. */
export const printThenSpin = threadable(function printThenSpin(task: number, count: number, spinMs: number): number {
  for (let i = 0; i < count; i++) console.log(`line ${i} of ${task}`);
  const end = Date.now() + spinMs;
  while (Date.now() < end) { /* busy */ }
  return task;
});

/**
 * Prints `count` lines, then one of `bigBytes` bytes, then `count` more
 * (`after <i> of <task>`), then spins `spinMs` ms.
 */
export const printAroundBigThenSpin = threadable(function printAroundBigThenSpin(task: number, count: number, bigBytes: number,
  spinMs: number): number {
  for (let i = 0; i < count; i++) console.log(`line ${i} of ${task}`);
  console.log('x'.repeat(bigBytes));
  for (let i = 0; i < count; i++) console.log(`after ${i} of ${task}`);
  const end = Date.now() + spinMs;
  while (Date.now() < end) { /* busy */ }
  return task;
});

/**
 * Prints `count` lines `line <i> of 0` on stdout with one of the stream's
 * other ways in: `destroy` destroys it after two thirds of them (and
 * prints no more); `corknest` corks it twice every 10 lines and uncorks it
 * with a write between; `end` gives the last line to end(). Then spins
 * `spinMs` ms.
 */
export const printWithStreamOp = threadable(function printWithStreamOp(op: string, count: number, spinMs: number): number {
  const s = process.stdout;
  for (let i = 0; i < count; i++) {
    const line = `line ${i} of 0\n`;
    if (op === 'corknest') {
      if (i % 10 === 0) { s.cork(); s.cork(); }
      s.write(line);
      if (i % 10 === 9) { s.uncork(); s.write(`uncorked ${i}\n`); s.uncork(); }
    } else if (op === 'end' && i === count - 1) {
      s.end(line);
    } else {
      s.write(line);
      if (op === 'destroy' && i === Math.floor(count * 2 / 3)) { s.destroy(); break; }
    }
  }
  const end = Date.now() + spinMs;
  while (Date.now() < end) { /* busy */ }
  return count;
});

/** printThenSpin after a 1 ms timer: not in the task's synchronous part. */
export const printThenSpinLater = threadable(async function printThenSpinLater(task: number, count: number, spinMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return printThenSpin(task, count, spinMs);
});

/**
 * Writes `a<i>`, `b<i>` and `c<i>` lines for i < `steps`, each step from
 * the callback of the previous step's first write; returns `steps` once
 * the last step wrote.
 */
export const printChain = threadable(function printChain(steps: number): Promise<number> {
  return new Promise((resolve) => {
    const step = (i: number): void => {
      if (i >= steps) { resolve(steps); return; }
      process.stdout.write(`a${i}\n`, () => step(i + 1));
      process.stdout.write(`b${i}\n`);
      process.stdout.write(`c${i}\n`);
    };
    step(0);
  });
});

/**
 * Writes `lines` lines of 99 y's, waiting for 'drain' whenever write()
 * returns false; returns how many times it did.
 */
export const floodHonoringDrain = threadable(async function floodHonoringDrain(lines: number): Promise<number> {
  const line = `${'y'.repeat(99)}\n`;
  let refused = 0;
  for (let i = 0; i < lines; i++) {
    if (!process.stdout.write(line)) {
      refused++;
      await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  }
  return refused;
});

/** Resolves the wait of spinWhenReleased on this thread. */
let releaseSpin: (() => void) | undefined;

/** Waits until a printLineThenRelease on its thread ends, then spins for `spinMs`, ignoring any cancellation. */
export const spinWhenReleased = threadable(async function spinWhenReleased(spinMs: number): Promise<number> {
  await new Promise<void>((resolve) => { releaseSpin = resolve; });
  const end = Date.now() + spinMs;
  while (Date.now() < end) { /* busy */ }
  return spinMs;
});

/** printLine(stream, i); then the spin of a spinWhenReleased on this thread starts, in the microtasks right after this task. */
export const printLineThenRelease = threadable(function printLineThenRelease(stream: string, i: number): number {
  printLine(stream, i);
  releaseSpin?.();
  return i;
});

/**
 * Writes a line of 4 KiB less one (x's), then `out <i>` on stdout or
 * `err <i>` on stderr, then returns `i`: enough to fill a pipe a reader is
 * slow to read.
 */
export const printWide = threadable(function printWide(stream: string, i: number): number {
  if (stream === 'stdout') process.stdout.write(`${'x'.repeat(4095)}\nout ${i}\n`);
  else process.stderr.write(`${'x'.repeat(4095)}\nerr ${i}\n`);
  return i;
});

/** Writes `out <i>` as hex, base64 and latin1 strings and as bytes, with nothing-printing writes around them. */
export const printEncoded = threadable(function printEncoded(i: number): number {
  const line = Buffer.from(`out ${i}\n`);
  process.stdout.write('zz', 'hex');  // no bytes: not a hex digit
  process.stdout.write(line.subarray(0, 2).toString('hex'), 'hex');
  process.stdout.write(line.subarray(2, 3).toString('base64'), 'base64');
  process.stdout.write('=', 'base64');  // no bytes
  process.stdout.write(line.subarray(3, 4).toString('latin1'), 'latin1');
  process.stdout.write(new Uint8Array(line.subarray(4)));
  return i;
});

/**
 * Writes lines faster than they leave the thread, then destroys its
 * stdout: what was still in it never reaches the owner, whose count then
 * stays short of the thread's.
 */
export const printThenDestroyStdout = threadable(function printThenDestroyStdout(): string {
  for (let i = 0; i < 50; i++) process.stdout.write(`lost ${i}\n`);
  process.stdout.destroy();
  return 'returned';
});

/** Prints on stderr, then returns `v`. */
export const printErr = threadable(function printErr(v: string): string {
  console.error(`printErr ${v}`);
  return v;
});

/** On the reactor: `v`, back to the thread. */
export const echoOnReactor = threadable(function echoOnReactor(v: string): string { return v; });

/** Calls the reactor and waits (the thread flushes what it holds first), then prints and returns. */
export const blockThenPrint = threadable(function blockThenPrint(v: string): string {
  const back = blockingCallFromThread(reactor, echoOnReactor, v);
  console.error(`blockThenPrint ${back}`);
  return back;
});

/** Corks stdout, prints into it, and never uncorks: that output never leaves. */
export const printCorked = threadable(function printCorked(): string {
  process.stdout.cork();
  process.stdout.write('corked\n');
  return 'corked';
});

/** Prints, posts `count` calls to the reactor, then ends its thread with process.exit(). */
export const printPostThenExit = threadable(function printPostThenExit(count: number): never {
  console.log('about to exit');
  for (let i = 0; i < count; i++) reactor.callFromThread(countOnReactor);
  process.exit(0);
});

/** On the reactor: counts printPostThenExit's calls. */
export const countOnReactor = threadable(function countOnReactor(): void {
  const g = globalThis as { consoleOrderCalls?: number };
  g.consoleOrderCalls = (g.consoleOrderCalls ?? 0) + 1;
});

/** Prints a line the thread's stdout filter drops (test/_fixtures/console-filter.cts), and one it keeps. */
export const printNoise = threadable(function printNoise(i: number): number {
  console.log(`noise ${i}`);
  console.log(`kept ${i}`);
  return i;
});

/** Two lines on stdout (the second waits behind the first's post), one on stderr, then returns `i`. */
export const printTwoAndErr = threadable(function printTwoAndErr(i: number): number {
  console.log(`first ${i}`);
  console.log(`second ${i}`);
  console.error(`err ${i}`);
  return i;
});

/**
 * Prints `out <i>`, then calls the reactor and waits: before it parks, its
 * thread lets go of the results it holds (a parked thread reads no port),
 * once the owner has the output they wait behind.
 */
export const printThenBlock = threadable(function printThenBlock(i: number): number {
  console.log(`out ${i}`);
  return Number(blockingCallFromThread(reactor, printOnReactor, String(i)));
});

/** On the reactor: prints `called <v>` (after the line its caller printed first, in order) and returns `v`. */
export const printOnReactor = threadable(function printOnReactor(v: string): string {
  console.log(`called ${v}`);
  return v;
});

/** On the reactor: what the last recordOnReactor call got. */
export const recordOnReactor = threadable(function recordOnReactor(v: string): void {
  (globalThis as { consoleOrderRecorded?: string }).consoleOrderRecorded = v;
});

/** On the reactor: its arguments, back. */
export const argsOnReactor = threadable(function argsOnReactor(...args: unknown[]): unknown[] { return args; });

/**
 * Writes two lines, the first with a callback that posts a call to the
 * reactor (encoding its own arguments), then makes a blocking call: the
 * callback runs as the thread parks, when it sends what its stdout holds.
 */
export const writeCallbackThenBlock = threadable(function writeCallbackThenBlock(): unknown {
  process.stdout.write('first\n', () => reactor.callFromThread(recordOnReactor, 'from the write callback'));
  process.stdout.write('second\n');
  return blockingCallFromThread(reactor, argsOnReactor, 'outer argument', 42);
});

/** On the reactor: what the test put in globalThis.consoleOrderAwaited (a Promise). */
export const awaitedOnReactor = threadable(function awaitedOnReactor(): unknown {
  return (globalThis as { consoleOrderAwaited?: unknown }).consoleOrderAwaited;
});

/** Whether the next printTwiceBlockingLater's write callback blocks (once per thread). */
let blockInCallback = false;

/**
 * Writes two lines and returns `tag`; the first write's callback, which
 * runs when the post of that line ends (in the thread's loop, or when the
 * thread posts what its stdout buffers), waits in a blocking call for
 * awaitedOnReactor's Promise.
 */
export const printTwiceBlockingLater = threadable(function printTwiceBlockingLater(tag: string): string {
  blockInCallback = true;
  process.stdout.write(`${tag} first\n`, () => {
    if (!blockInCallback) return;
    blockInCallback = false;
    blockingCallFromThread(reactor, awaitedOnReactor);
  });
  process.stdout.write(`${tag} second\n`);
  return tag;
});

/**
 * Writes `kb` lines of 1 KiB (1,023 x's and a newline) to stdout, and with
 * `tail`, 20 ms later, `tail` and a newline; then returns `kb`.
 */
export const printKiB = threadable(async function printKiB(kb: number, tail = false): Promise<number> {
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < kb; i++) process.stdout.write(line);
  if (tail) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.stdout.write('tail\n');
  }
  return kb;
});

/** This thread's own pool (warmNested, printKiBNested). */
let nested: ThreadPool | undefined;

/** Starts this thread's own pool and runs a quiet task there, so that a timed printKiBNested starts no thread. */
export const warmNested = threadable(async function warmNested(): Promise<number> {
  nested ??= new ThreadPool({ minThreads: 1, maxThreads: 1 });
  nested.start();
  return await deferToThreadPool(reactor, nested, printKiB, 0);
});

/** Runs printKiB(kb, true) on this thread's own pool (warmNested's, or a new one), returns its result, and stops the pool. */
export const printKiBNested = threadable(async function printKiBNested(kb: number): Promise<number> {
  const pool = nested ?? new ThreadPool({ minThreads: 1, maxThreads: 1 });
  nested = undefined;
  pool.start();
  try {
    return await deferToThreadPool(reactor, pool, printKiB, kb, true);
  } finally {
    await pool.stop();
  }
});
