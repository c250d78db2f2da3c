// A pool's threads and their lives: starting them through the thread
// starter the pool was handed, their exits (a retirement, a recycling, a
// death), settling the tasks that died with them, replacing them while
// work waits or the pool is below its floor, giving up when threads keep
// dying while starting, and joining them on stop(). Owner thread only.
// Tests: test/threadpool-fake-threads.ts, test/thread-lifecycle.ts,
// test/threadpool-robustness.ts.
import { ThreadDiedError } from '../errors/errors.js';
import { native } from '../reactor/native.js';
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import type { Clock, PoolThread, ThreadStarter } from './collaborators.js';
import type { MovedBuffers } from './moved-buffers.js';
import type { PrintedOutput } from './printed-output.js';
import type { ResolvedOptions } from './options.js';
import type { TaskTable } from './tasks.js';
import type { PoolThreadData } from '../base/pool-thread-data.js';

/**
 * An idle thread spins up to this long for the next task (while that
 * pays: Pool::Take), then waits in its loop. Not at all when this process
 * may run on one CPU only (taskset, a cpuset): the task it waits for comes
 * from a thread that needs that CPU. Measured there (taskset -c 1, 5,000
 * round trips of add): 75-78 us each with the spin, 65-71 without.
 */
const SPIN_NS = availableParallelism() > 1 ? 20_000 : 0;
/** Threads in a row that may die while starting before the queued tasks fail. */
const MAX_START_FAILURES = 3;

export interface ThreadsContext {
  readonly poolId: number;
  /** What stop()'s grace for threads still starting runs on. */
  readonly clock: Clock;
  /** The pool's options; min and max change with adjustPoolsize. */
  readonly options: ResolvedOptions;
  /** The reactor the threads serve (the owner's). */
  readonly owner: number;
  /** Function ids of onThreadStart and onThreadExit; 0: none. */
  readonly hooks: { readonly start: number; readonly exit: number };
  readonly tasks: TaskTable;
  readonly startThread: ThreadStarter;
  /** Each thread gets a side port for large moved buffers; this is the owner's side. */
  readonly moves: MovedBuffers;
  /** What has come of each thread's console output (its asks come on its side port). */
  readonly printed: PrintedOutput;
  /** Where an error no caller receives goes (the pool's 'error' listeners, else stderr). */
  report(error: unknown, context: string): void;
  /**
   * Runs `run` once the owner has handled every message the thread whose
   * reactor is `sender` sent (ReactorCore.afterSender).
   */
  afterSender(sender: number, run: () => void): void;
}

interface ThreadHandle {
  readonly threadId: number;
  readonly thread: PoolThread;
  error: unknown;
  /** Why the pool terminated it, if it did. */
  terminatedBecause?: string;
  /**
   * Ended by stop(): it was still starting (it never served), or its
   * onThreadExit outlasted cancelGrace. Its end is no death.
   */
  endedByStop?: boolean;
  /**
   * Its onThreadExit runs (it said so on its side port, ExitHook): it
   * takes no more work, and counts toward max no more.
   */
  inExitHook?: boolean;
  /** Its onThreadExit settled: the thread exits once what it sent is out. */
  exitHookEnded?: boolean;
  /** stop()'s bound on that hook (cancelGrace), while it is armed. */
  exitHookTimer?: unknown;
}

export class PoolThreads {
  readonly #ctx: ThreadsContext;
  readonly #threads = new Map<number, ThreadHandle>();
  #started = false;
  #joined = false;
  #draining = false;
  /**
   * Threads in a row that died before they attached (a bad execArgv, a
   * crashing preload or onThreadStart). At MAX_START_FAILURES the pool
   * gives up until a thread attaches: the queued tasks fail, the floor is
   * not refilled, and each later thread that dies while starting fails
   * the tasks queued for it at once.
   */
  #startFailures = 0;
  #died = 0;
  /** Threads running their onThreadExit (ThreadHandle.inExitHook). */
  #inExitHooks = 0;
  /** Whether it said, once, that threads in their onThreadExit keep it from starting one (roomFor). */
  #saidHooksHold = false;
  /** Exited threads whose tasks are not settled yet (behind their last messages). */
  #exitsPending = 0;
  #onAllExited: (() => void) | undefined;

  constructor(ctx: ThreadsContext) {
    this.#ctx = ctx;
  }

  /** Threads alive or starting. */
  get size(): number { return this.#threads.size; }
  /**
   * Threads alive or starting but for those running their onThreadExit:
   * what counts toward max. A thread that recycles, retires or shrinks
   * away takes nothing more once its hook runs, which may take any time
   * (or never end): its replacement starts beside it, as work needs.
   */
  get serving(): number { return this.#threads.size - this.#inExitHooks; }

  /**
   * Whether a thread may start so that `wanted` serve (`gone`: threads
   * gone or retiring but not removed yet, as native counts them for an
   * owner parked in a blockingCallInThread, which sees no exit: they serve
   * no more, and count in no bound). Threads in their onThreadExit count
   * toward max again once max of them live: at most 2 x max Workers,
   * however slow the hooks (helper-141: 115 Workers alive for maxThreads 2
   * with 3 s hooks, RSS 1.2 GB).
   */
  roomFor(wanted: number, gone = 0): boolean {
    const live = this.#threads.size - gone;
    if (Math.min(this.serving, live) >= wanted) return false;
    // (For an owner parked in a blockingCallInThread, native counts the
    // threads in their hooks among the retiring, in `gone`, and the bound
    // does not hold: held to it, such a call found every thread gone once
    // the hooks ended, since a parked owner starts no thread then. Each
    // parked call may start one: helper-145 saw 20 Workers alive in their
    // hooks after 20 calls of a 1-thread pool with 4 s hooks.)
    if (live < 2 * this.#ctx.options.max) return true;
    if (!this.#saidHooksHold && this.#inExitHooks > 0) {
      // (Else a pool whose hooks never settle stopped serving in silence: helper-144.)
      this.#saidHooksHold = true;
      process.stderr.write(`reactor-threads: pool '${this.#ctx.options.name}' starts no thread while ${this.#inExitHooks} of its `
        + 'threads are in an onThreadExit that has not settled (at most twice maxThreads Workers live): its work waits for them\n');
    }
    return false;
  }
  /** True between start() and stop(). */
  get started(): boolean { return this.#started; }
  /** True once stop() was called. */
  get joined(): boolean { return this.#joined; }
  /** Threads that exited unexpectedly (pool.stats().threadsDied). */
  get died(): number { return this.#died; }

  /** Starts `min` threads, and more for work queued before now (up to `max`). */
  start(): void {
    this.#started = true;
    this.fill();
  }

  /** Starts threads up to what the bounds and the queue ask for; returns the queued count it saw. */
  fill(): number {
    const { min, max } = this.#ctx.options;
    const queued = native.poolCounts(this.#ctx.poolId).queued;
    const wanted = Math.min(max, Math.max(min, queued));
    // A refused start fails the queue: trying again at once would loop forever.
    while (this.roomFor(wanted) && this.add());
    return queued;
  }

  /** stop(), first step: no thread is started or replaced from now on, but for drained work. */
  beginStop(drain: boolean): void {
    this.#joined = true;
    this.#started = false;
    this.#draining = drain;
  }

  /** stop(), second step (after the queue was stopped): resolves once every thread has exited. */
  join(): Promise<void> {
    if (this.#draining && this.roomFor(1) && this.#ctx.tasks.size > 0) {
      // Work queued before start() (or left by threads now in their
      // onThreadExit) and drained by stop(): it needs a thread.
      this.add();
    }
    for (const t of this.#threads.values()) {
      t.thread.ref();
      if (t.inExitHook) this.#boundExitHook(t);
    }
    this.#endStartsAfterGrace();
    return new Promise<void>((resolve) => {
      this.#onAllExited = resolve;
      this.#maybeAllExited();
    });
  }

  /**
   * stop(): a thread still starting has no work to do here once nothing is
   * queued (without drain the queue is stopped; with drain, the threads
   * that attached take what is left, and exit when it is gone). It gets
   * cancelGrace to finish its preloads and onThreadStart, then exit as any
   * thread does (running onThreadExit); one that has not attached by then
   * is terminated, so a start that never settles cannot keep stop() waiting
   * for ever. While drained work is still queued, it may be the thread
   * that work needs: it is looked at again after another cancelGrace (at
   * least 50 ms).
   */
  #endStartsAfterGrace(): void {
    const { poolId, clock, options } = this.#ctx;
    const starting = [...this.#threads.values()].filter((t) => !native.poolThreadAttached(poolId, t.threadId));
    if (starting.length === 0 || options.cancelGrace === Infinity) return;
    const end = (): void => {
      const left = starting.filter((t) => this.#threads.has(t.threadId) && !native.poolThreadAttached(poolId, t.threadId));
      if (left.length === 0) return;
      // (The pool lives while a thread of it does: poolCounts can be read.)
      if (this.#draining && native.poolCounts(poolId).queued > 0) {
        clock.setTimeout(end, Math.max(options.cancelGrace, 50));
        return;
      }
      for (const t of left) {
        t.endedByStop = true;
        void t.thread.terminate();
      }
    };
    clock.setTimeout(end, options.cancelGrace);
  }

  /**
   * Thread `threadId` runs its onThreadExit (its side port said so, as the
   * hook began): it takes nothing more. Its replacement starts now if work
   * waits or the pool is below its floor (after stop(), if drained work
   * waits and no thread serves), and after stop() the hook gets
   * cancelGrace.
   */
  exitHookBegan(threadId: number): void {
    const handle = this.#threads.get(threadId);
    if (!handle || handle.inExitHook) return;
    handle.inExitHook = true;
    this.#inExitHooks++;
    if (!this.#joined) {
      if (this.#started) this.fill();
      return;
    }
    this.#boundExitHook(handle);
    // (Else drained work waited for the hook's end, cancelGrace or for ever: helper-141.)
    if (this.#draining && this.roomFor(1) && native.poolCounts(this.#ctx.poolId).queued > 0) this.add();
  }

  /** Thread `threadId`'s onThreadExit settled: it exits by itself now, unbounded by cancelGrace. */
  exitHookEnded(threadId: number): void {
    const handle = this.#threads.get(threadId);
    if (!handle) return;
    handle.exitHookEnded = true;
    if (handle.exitHookTimer !== undefined) {
      this.#ctx.clock.clearTimeout(handle.exitHookTimer);
      handle.exitHookTimer = undefined;
    }
  }

  /**
   * stop(): a thread's onThreadExit gets cancelGrace (from stop(), or from
   * its start if later), then its thread is terminated, so that a hook
   * that never settles cannot keep stop() waiting for ever (changed after
   * 0.1.1: it did).
   */
  #boundExitHook(handle: ThreadHandle): void {
    const { clock, options } = this.#ctx;
    if (options.cancelGrace === Infinity || handle.exitHookTimer !== undefined || handle.exitHookEnded) return;
    handle.exitHookTimer = clock.setTimeout(() => {
      handle.exitHookTimer = undefined;
      if (!this.#threads.has(handle.threadId)) return;
      handle.endedByStop = true;
      const name = `${options.name}#${handle.threadId}`;
      process.stderr.write(`reactor-threads: onThreadExit in ${name} ran past cancelGrace (${options.cancelGrace} ms) during stop(); its thread is terminated\n`);
      this.terminate(handle.threadId, 'its onThreadExit outlasted cancelGrace');
    }, options.cancelGrace);
  }

  /** Whether terminate() was called on thread `threadId`, which has not exited yet. */
  terminating(threadId: number): boolean {
    return this.#threads.get(threadId)?.terminatedBecause !== undefined;
  }

  /** Terminates a thread that still lives, recording why (its tasks die with it; it is replaced). */
  terminate(threadId: number, why: string): void {
    const handle = this.#threads.get(threadId);
    if (!handle) return;
    handle.terminatedBecause = why;
    this.#ctx.printed.terminated(threadId);
    void handle.thread.terminate();
  }

  /** Starts one thread; false if it could not be created (the queued tasks have failed). */
  add(): boolean {
    const { poolId, options: o, owner, hooks } = this.#ctx;
    const threadId = native.poolAddThread(poolId);
    const { port1: ownerPort, port2: movesPort } = new MessageChannel();
    const data: PoolThreadData = {
      kind: 'reactor-threads.pool-thread', poolId, owner, threadId,
      threadName: `${o.name}#${threadId}`,
      concurrency: o.concurrency, idleTimeout: o.idleTimeout, spinNs: SPIN_NS,
      startHook: hooks.start, exitHook: hooks.exit,
      maxTasks: o.maxTasksPerThread, maxHeap: o.maxHeapPerThread, preloads: o.preloads,
      flattenInstances: o.flattenInstances, movesPort,
    };
    let thread: PoolThread;
    try {
      thread = this.#ctx.startThread(data, {
        ...(o.resourceLimits && { resourceLimits: o.resourceLimits }),
        ...(o.env && { env: o.env }),
        ...(o.execArgv && { execArgv: o.execArgv }),
      });
    } catch (e) {
      // Node refused the Worker (invalid execArgv, resourceLimits…).
      ownerPort.close();
      native.poolRemoveThread(poolId, threadId);
      this.#cannotStartThreads(e);
      return false;
    }
    // The owner's loop is kept alive by tasks in flight, not by threads.
    if (!this.#joined) thread.unref();
    this.#ctx.moves.addThread(threadId, ownerPort);
    this.#ctx.printed.addThread(threadId, thread, ownerPort);
    const handle: ThreadHandle = { threadId, thread, error: undefined };
    this.#threads.set(threadId, handle);
    thread.on('error', (e) => { handle.error = e; });
    thread.on('exit', (code) => this.#exited(handle, code));
    return true;
  }

  /** No thread can start: the queued tasks fail now instead of waiting forever. */
  #cannotStartThreads(cause: unknown): void {
    for (const id of native.poolClearQueue(this.#ctx.poolId)) {
      this.#ctx.tasks.settle(id, false, new ThreadDiedError('no pool thread could start to run the task', undefined, cause));
    }
  }

  #exited(handle: ThreadHandle, code: number): void {
    const { poolId, options } = this.#ctx;
    this.#threads.delete(handle.threadId);
    if (handle.inExitHook) this.#inExitHooks--;
    if (handle.exitHookTimer !== undefined) this.#ctx.clock.clearTimeout(handle.exitHookTimer);
    // Tasks it took but never started are back in the queue (for its
    // siblings, at once); these died with it.
    const { died: held, attached, requeued, reactor } = native.poolRemoveThread(poolId, handle.threadId);
    // (One that attached just as stop() ended it took nothing: the queue was stopped.)
    const cutShort = handle.endedByStop === true;
    if (attached) {
      this.#startFailures = 0;
    } else if (!cutShort && ++this.#startFailures >= MAX_START_FAILURES) {
      this.#cannotStartThreads(handle.error ?? new Error(`a pool thread exited with code ${code} while starting`));
    }
    // A thread that was not done (it held tasks, or ended by an error, a
    // termination or a non-zero exit) died; one that chose to exit, or
    // that stop() ended while it started, did not.
    if (!cutShort && (held.length > 0 || requeued > 0 || code !== 0 || handle.error !== undefined || handle.terminatedBecause)) {
      this.#died++;
    }
    if (this.#joined) {
      // Drained work still queued needs a thread even now.
      if (this.#draining && this.roomFor(1) && native.poolCounts(poolId).queued > 0) this.add();
    } else {
      // Replace it if work waits (its untouched tasks were re-queued) or the
      // pool is below its floor, unless threads keep dying while starting.
      const queued = native.poolCounts(poolId).queued;
      const floor = this.#startFailures < MAX_START_FAILURES ? options.min : 0;
      if (this.#started && this.roomFor(Math.min(options.max, Math.max(floor, queued)))) this.add();
    }
    // Its last calls and results may still wait here behind a call of its
    // whose function loads: its dead tasks are settled (and the callables
    // they carried released) only after those ran.
    this.#exitsPending++;
    this.#ctx.afterSender(reactor, () => {
      this.#exitsPending--;
      // (A throwing 'error' listener must not keep stop() waiting.)
      try {
        this.#settleDead(handle, code, held, attached);
      } finally {
        // Native posted the results it held for it; they were handled.
        this.#ctx.moves.threadRemoved(handle.threadId);
        this.#ctx.printed.removeThread(handle.threadId);
        this.#maybeAllExited();
      }
    });
  }

  /** The tasks that died with an exited thread, or its death, reported. */
  #settleDead(handle: ThreadHandle, code: number, held: number[], attached: boolean): void {
    if (held.length > 0) {
      const why = handle.terminatedBecause ?? (handle.error !== undefined ? uncaught(handle.error) : `exit code ${code}`);
      for (const id of held) {
        this.#ctx.tasks.settle(id, false, new ThreadDiedError(
          `the thread running the task exited (${why}) before the task settled`, code, handle.error));
      }
    } else if (handle.error !== undefined && attached && !handle.terminatedBecause) {
      // (One that died while starting is reported through the tasks it fails.)
      this.#ctx.report(new ThreadDiedError('an idle pool thread died', code, handle.error), 'a pool thread');
    }
  }

  /** stop(): every thread has exited, and what died with them is settled. */
  #maybeAllExited(): void {
    if (this.#joined && this.#threads.size === 0 && this.#exitsPending === 0) this.#onAllExited?.();
  }
}

/**
 * How a thread's death by `error` reads in its tasks' ThreadDiedError: a
 * heap past resourceLimits is named, not left to the cause's code.
 */
function uncaught(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory: its heap reached resourceLimits' : 'an uncaught error';
}
