// What a ThreadPool is handed instead of importing it, as Twisted's Team is
// handed its thread starter: how a pool thread is started, the clock its
// timers run on, and the run time below which its native scheduler takes a
// function's tasks in batches. The defaults are real Workers running
// src/thread/worker.ts, real (unref'd) timers and 0.1 ms; tests pass
// hand-stepped fakes (test/_helpers/fake-threads.ts) and a higher quick
// threshold (test/_helpers/quick-pool.ts). Internal: not part of the
// documented API. Owner thread only. Tests: test/threadpool-fake-threads.ts.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker, type ResourceLimits, type WorkerOptions } from 'node:worker_threads';
import { native } from '../reactor/native.js';
import type { PoolThreadData } from '../base/pool-thread-data.js';

/** What the pool uses of a thread; a worker_threads Worker is one. */
export interface PoolThread {
  /** Once, when the thread has ended (after 'error' if it died of an uncaught error). */
  on(event: 'exit', listener: (code: number) => void): unknown;
  /** An uncaught error ended the thread; 'exit' follows. */
  on(event: 'error', listener: (error: unknown) => void): unknown;
  /** Ends the thread whatever it runs; 'exit' follows. */
  terminate(): unknown;
  /** Keeps the owner's event loop alive while the thread lives (stop() joins). */
  ref(): void;
  /** Lets the owner's loop exit with the thread alive (the pool holds it for tasks instead). */
  unref(): void;
  /** Its console output, as it arrives here (a Worker's; piped to this process's by Node). */
  readonly stdout?: Readable | null;
  readonly stderr?: Readable | null;
}

/** How a thread is to be started: the Worker options the pool's own options ask for. */
export interface ThreadStartOptions {
  resourceLimits?: ResourceLimits;
  env?: Record<string, string | undefined>;
  execArgv?: string[];
}

/**
 * Starts a pool thread that serves the pool `data` names (src/thread/worker.ts
 * with `data` as its workerData). Throws if the thread cannot be created
 * (Node refused the Worker): the pool counts that as a start failure.
 */
export type ThreadStarter = (data: PoolThreadData, options: ThreadStartOptions) => PoolThread;

/**
 * The time the pool's timers (queue and run timeouts, cancelGrace,
 * starvation) run on. A timer must not keep the owner's loop alive.
 */
export interface Clock {
  /**
   * Milliseconds on a monotonic scale of the clock's own. The pool reads
   * how long ago a thread took a task on the native clock and places the
   * task's run deadline on this one.
   */
  now(): number;
  /** Calls `f` once, `ms` from now; returns a handle for clearTimeout. */
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** The pool's collaborators (ThreadPool's second constructor argument); each defaults to the real one. */
export interface PoolCollaborators {
  startThread?: ThreadStarter;
  clock?: Clock;
  /**
   * Milliseconds: a function whose runs take less than this on average is
   * quick, and a thread takes its queued tasks several at a time (native
   * Pool's quick_task_ns). Default 0.1. A test that needs a batch raises
   * it: a loaded machine (or an ASan build) can make a trivial task's
   * measured runs look slower than 0.1 ms.
   */
  quickTaskMs?: number;
}

const workerPath = join(__dirname, '..', 'thread', 'worker.js');
const startingPath = join(__dirname, '..', 'thread', 'starting.js');
const linkedEntryPath = join(__dirname, '..', 'thread', 'linked-entry.js');

/**
 * The thread's entry by the link's path, or undefined when this copy of the
 * package was loaded by its real path. Node runs a Worker's file as a main
 * script, by its real path, even under --preserve-symlinks (only
 * --preserve-symlinks-main keeps a main script's link), while a task
 * module's `require('reactor-threads')` there keeps the link's path: with
 * the package behind a symlink the thread held two copies of it, its
 * runtime in one and the task's imports in the other, where currentTask()
 * found no task. So when this copy was loaded through a link, the Worker
 * runs src/thread/linked-entry.ts, which requires the entry by that path:
 * require() then follows the thread's own policy, as the task's does.
 * Looked up once, at the first thread's start. (An owner loaded by its
 * real path whose threads alone preserve links, by their execArgv or env,
 * or that runs reactor-threads-worker from a link, is not helped: see the
 * README.)
 */
let linkedEntry: string | undefined | null;
function linkedEntryOfThreads(): string | undefined {
  if (linkedEntry === undefined) {
    let real = workerPath;
    try { real = realpathSync(workerPath); } catch { /* the Worker reports it */ }
    linkedEntry = real === workerPath ? null : workerPath;
  }
  return linkedEntry ?? undefined;
}

/**
 * Real threads: a Worker running src/thread/worker.ts. Given execArgv, its
 * preloads follow src/thread/starting.ts, so that a thread they kill is
 * seen gone (without execArgv a thread inherits the parent's, and the
 * starting preload cannot be added: the parent's V8 flags, valid there,
 * are refused in a Worker's explicit execArgv).
 */
export const startWorker: ThreadStarter = (data, o) => {
  const linked = linkedEntryOfThreads();
  return new Worker(linked ? linkedEntryPath : workerPath, startOptions(linked ? { ...data, linkedEntry: linked } : data, o));
};

function startOptions(data: PoolThreadData, o: ThreadStartOptions): WorkerOptions {
  return {
    workerData: data, name: data.threadName,
    ...(data.movesPort && { transferList: [data.movesPort] }),
    ...(o.resourceLimits && { resourceLimits: o.resourceLimits }),
    ...(o.env && { env: o.env }),
    ...(o.execArgv && { execArgv: ['--require', startingPath, ...o.execArgv] }),
  };
}

/** Real time: Node's timers, unref'd, and the native monotonic clock. */
export const realClock: Clock = {
  now: () => native.now(),
  setTimeout: (f, ms) => {
    const timer = setTimeout(f, ms);
    // (A test environment's timers, jest's jsdom one say, return a number.)
    (timer as { unref?: () => void }).unref?.();
    return timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
