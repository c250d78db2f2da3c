// The functions that test/bullmq-*.ts run on remote workers. The workers
// run a copy of this folder at another path (their own app root), so
// every call here also proves that identity is portable.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { currentTask, threadable } from 'reactor-threads';
import { notRetryable } from 'reactor-threads/bullmq';

export class Point {
  x: number;
  y: number;
  constructor(x: number, y: number) { this.x = x; this.y = y; }
  norm(): number { return Math.hypot(this.x, this.y); }
}
threadable(Point);

/** A registered error class with a code and an own property. */
export class Refused extends Error {
  code = 'E_REFUSED';
  detail: { field: string };
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Refused';
    this.detail = { field: 'amount' };
  }
}
threadable(Refused);

/** Failures of this class are never retried. */
export class Permanent extends Error {
  constructor(message: string) { super(message); this.name = 'Permanent'; }
}
threadable(Permanent);
notRetryable(Permanent);

export const add = threadable(function add(a: number, b: number): number { return a + b; });

export const where = threadable(function where(): { pid: number; thread: number } {
  return { pid: process.pid, thread: threadId };
});

/** where(), after holding its job for `ms`: so that one worker cannot take a whole burst alone. */
export const whereAfter = threadable(async function whereAfter(ms: number): Promise<{ pid: number; thread: number }> {
  await new Promise((r) => setTimeout(r, ms));
  return { pid: process.pid, thread: threadId };
});

export const echo = threadable(function echo<T>(value: T): T { return value; });

export const movePoint = threadable(function movePoint(p: Point, dx: number): Point {
  return new Point(p.x + dx, p.y);
});

export const refuse = threadable(function refuse(message: string): never {
  throw new Refused(message, { cause: new TypeError('the inner reason') });
});

/** Appends a line to `file` per attempt; fails until it has run `failures` times. */
export const flaky = threadable(function flaky(file: string, failures: number, permanent: boolean): number {
  appendFileSync(file, 'attempt\n');
  const attempts = readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  if (attempts <= failures) throw permanent ? new Permanent(`attempt ${attempts}`) : new Error(`attempt ${attempts}`);
  return attempts;
});

/** Writes 'started' to `file`, waits for the task's abort, then writes 'aborted'. */
export const waitForAbort = threadable(async function waitForAbort(file: string): Promise<string> {
  appendFileSync(file, `started ${process.pid}\n`);
  const { signal } = currentTask();
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  appendFileSync(file, 'aborted\n');
  return 'aborted';
});

/**
 * For a job its worker takes again: its first run (nothing in `file` yet)
 * waits for the task's abort, then goes on for `afterAbortMs`, ignoring
 * it, and writes `aborted`; a later run naps `laterMs` and writes `done`.
 * Each writes `started <pid>` first.
 */
export const firstRunAborted = threadable(async function firstRunAborted(file: string, afterAbortMs: number, laterMs: number): Promise<string> {
  const first = !existsSync(file) || readFileSync(file, 'utf8') === '';
  appendFileSync(file, `started ${process.pid}\n`);
  if (!first) {
    await sleep(laterMs);
    appendFileSync(file, 'done\n');
    return 'done';
  }
  const { signal } = currentTask();
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await sleep(afterAbortMs);
  appendFileSync(file, 'aborted\n');
  return 'aborted';
});

export const nap = threadable(async function nap(ms: number, file?: string): Promise<number> {
  if (file) appendFileSync(file, `started ${process.pid}\n`);
  await sleep(ms);
  return process.pid;
});

/** Blocks its thread for `ms`, as CPU-bound work does; appends `started <pid>` to `file` first, if given. */
export const spin = threadable(function spin(ms: number, file?: string): number {
  if (file) appendFileSync(file, `started ${process.pid}\n`);
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
  return process.pid;
});

export const text = threadable(function text(n: number): string { return 'x'.repeat(n); });

/** Not marked threadable: reachable only by fromModule(). */
export function plainExport(x: number): string { return `plain:${x}`; }

/** Throws an error of about 3 * n characters (message, stack, an own property). */
export const bigThrow = threadable(function bigThrow(n: number): never {
  const e = new Error('x'.repeat(n)) as Error & { blob?: string };
  e.blob = 'y'.repeat(n);
  throw e;
});
